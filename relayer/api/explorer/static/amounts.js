// Exact amounts. The API sends integers in base units as decimal strings; they are
// shown by moving the decimal point in the string, and compared or subtracted as
// BigInt. No amount shown as text ever passes through a JavaScript number.

const DIGITS = /^[0-9]+$/;

/** "1234500000", 6 -> "1,234.5": exact, trailing zeros of the fraction dropped. */
export function formatUnits(value, decimals, { group = true } = {}) {
  const text = String(value);
  if (!DIGITS.test(text) || !Number.isInteger(decimals) || decimals < 0) return text;
  let digits = text.replace(/^0+(?=[0-9])/, "");
  let whole = digits;
  let fraction = "";
  if (decimals > 0) {
    digits = digits.padStart(decimals + 1, "0");
    whole = digits.slice(0, digits.length - decimals);
    fraction = digits.slice(digits.length - decimals).replace(/0+$/, "");
  }
  if (group) whole = whole.replace(/\B(?=([0-9]{3})+(?![0-9]))/g, ",");
  return fraction ? `${whole}.${fraction}` : whole;
}

/** a - b for decimal strings, exact (BigInt), as a decimal string ("-5" when negative). */
export function subtract(a, b) {
  return (BigInt(a) - BigInt(b)).toString();
}

/** A rate bump (10,000,000 is 100 %) as an exact percentage: 450000 -> "4.5 %". */
export function formatRateBump(rateBump) {
  return `${formatUnits(String(rateBump), 5)} %`;
}

/** Wei as gwei, exact: "100000000" -> "0.1 gwei". */
export function formatGwei(wei) {
  return `${formatUnits(wei, 9)} gwei`;
}

/**
 * An approximation for plotting only (chart coordinates): never shown as text.
 */
export function toPlotNumber(value, decimals) {
  return Number(formatUnits(value, decimals, { group: false }));
}

/** The configured tokens (GET /api/tokens), by chain and asset id. */
export class Tokens {
  constructor(list) {
    this.byKey = new Map(list.map((t) => [`${t.chain}:${t.id}`, t]));
  }

  get(chain, id) {
    return this.byKey.get(`${chain}:${id}`) ?? null;
  }

  /** "100 TUSD", or the base units and the asset id for an asset not configured. */
  amount(chain, id, value) {
    const token = this.get(chain, id);
    if (token === null) return `${formatUnits(value, 0)} units of ${id}`;
    return `${formatUnits(value, token.decimals)} ${token.symbol}`;
  }

  symbol(chain, id) {
    return this.get(chain, id)?.symbol ?? id;
  }
}
