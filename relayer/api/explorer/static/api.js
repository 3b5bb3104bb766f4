// Reading the relayer's REST API, and its clock.

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.message ?? `HTTP ${status}`);
    this.status = status;
    this.code = body?.error_code ?? null;
  }
}

export async function getJSON(path) {
  const response = await fetch(path, { headers: { accept: "application/json" } });
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

/** Every page of a cursor-paginated listing, up to `cap` items. */
export async function getAllOrders(query, cap = 2000) {
  const orders = [];
  let cursor = null;
  do {
    const sep = query ? "&" : "";
    const suffix = cursor ? `&cursor=${encodeURIComponent(cursor)}` : "";
    const page = await getJSON(`/api/orders?${query}${sep}limit=500${suffix}`);
    orders.push(...page.orders);
    cursor = page.next_cursor;
  } while (cursor && orders.length < cap);
  return orders;
}

/**
 * The relayer's time: every answer that carries a time ("at") moves it, and it runs on
 * with the browser's clock in between. Time left is counted on it, not on the browser's.
 */
export class ServerClock {
  constructor() {
    this.offset = 0;
  }

  observe(at) {
    if (Number.isInteger(at)) this.offset = at - Date.now() / 1000;
  }

  now() {
    return Math.floor(Date.now() / 1000 + this.offset);
  }
}

const OPEN = new Set(["pending", "active", "partially_filled", "invalid"]);

/** Whether the order's auction still runs (its price can still fall). */
export function auctionOpen(status) {
  return OPEN.has(status);
}
