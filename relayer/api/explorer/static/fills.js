// An order's fills as a person follows them (GET /api/orders/{hash}/timeline): the
// stages each fill went through, the rules still holding its secret back, and each
// escrow on its chain with transaction, confirmations and time locks.

import { formatUnits } from "./amounts.js";
import { el, formatDuration, formatTime, shortHash } from "./format.js";

export const STEPS = [
  ["src_escrow_seen", "source escrow seen"],
  ["verified", "both escrows verified"],
  ["final", "both final"],
  ["ready_for_secret", "ready for the secret"],
  ["secret_released", "secret released"],
  ["dst_withdrawn", "receiver paid"],
  ["src_withdrawn", "resolver paid"],
  ["settled", "settled"],
];
const STEP_INDEX = new Map(STEPS.map(([status], index) => [status, index]));
const ROLE = { src: "source", dst: "destination" };
const SOURCES = { maker: "posted by the maker", custody: "released from custody",
  chain: "seen on chain" };

function firstSeen(history) {
  const seen = new Map();
  for (const step of history) if (!seen.has(step.status)) seen.set(step.status, step.at);
  return seen;
}

function steps(fill) {
  const seen = firstSeen(fill.history);
  const current = STEP_INDEX.get(fill.status);
  const reached = Math.max(current ?? -1, ...fill.history.map((h) => STEP_INDEX.get(h.status) ?? -1));
  const list = el("ol", "steps");
  STEPS.forEach(([status, label], index) => {
    const item = el("li", index <= reached ? "done" : "todo");
    item.dataset.step = status;
    if (index === current) item.classList.add("current");
    item.append(el("span", "step-label", label));
    if (seen.has(status)) item.append(el("span", "step-time", formatTime(seen.get(status)).slice(11)));
    list.append(item);
  });
  return list;
}

function reasons(fill) {
  const box = el("div", "reasons");
  if (fill.secret_released_at !== null) {
    box.append(el("p", "released", `Secret released at ${formatTime(fill.secret_released_at)} `
      + `(${SOURCES[fill.secret_source] ?? fill.secret_source}).`));
  }
  if (fill.reasons.length === 0) return box;
  const heading = fill.status === "foreign" ? "Not a fill of this order:"
    : "Secret held back by:";
  box.append(el("p", "held", heading));
  const list = el("ul", "reason-list");
  for (const r of fill.reasons) {
    const item = el("li", "reason");
    item.dataset.code = r.code;
    item.append(el("code", null, r.code), " ", el("span", "rule", r.rule), " ",
      el("span", null, r.text));
    list.append(item);
  }
  box.append(list);
  return box;
}

function amount(escrow) {
  if (escrow.decimals === null) return `${formatUnits(escrow.amount, 0)} units of ${escrow.token}`;
  return `${formatUnits(escrow.amount, escrow.decimals)} ${escrow.symbol}`;
}

function confirmations(escrow) {
  if (escrow.confirmations === null) return "tip unknown";
  const final = escrow.confirmations >= escrow.required_confirmations;
  return `${escrow.confirmations} of ${escrow.required_confirmations}${final ? " · final" : ""}`;
}

function state(escrow) {
  if (escrow.withdrawn) {
    return `withdrawn in ${shortHash(escrow.withdrawn.tx_id)} (block ${escrow.withdrawn.block})`;
  }
  if (escrow.cancelled) {
    return `cancelled in ${shortHash(escrow.cancelled.tx_id)} (block ${escrow.cancelled.block})`;
  }
  return escrow.phase;
}

function escrowTable(fill) {
  const table = el("table", "escrows");
  const head = el("tr");
  for (const title of ["Escrow", "Chain", "Transaction", "Block", "Confirmations", "Amount", "State"]) {
    head.append(el("th", null, title));
  }
  table.append(el("thead"));
  table.tHead.append(head);
  const body = el("tbody");
  for (const e of fill.escrows) {
    const row = el("tr");
    row.dataset.role = e.role;
    const id = el("td", "escrow-id");
    id.append(el("span", "role", ROLE[e.role] ?? e.role), " ", el("code", "hash", shortHash(e.escrow)));
    id.title = e.escrow;
    const tx = el("td", "tx");
    tx.append(el("code", "hash", shortHash(e.created.tx_id, 10, 8)));
    tx.title = e.created.tx_id;
    row.append(id, el("td", "chain", e.chain), tx, el("td", "block num", String(e.created.block)),
      el("td", "confirmations", confirmations(e)), el("td", "amount num", amount(e)),
      el("td", "phase", state(e)));
    body.append(row);
  }
  table.append(body);
  return table;
}

function timelocks(fill, now) {
  const box = el("div", "timelocks");
  for (const e of fill.escrows) {
    const block = el("div", "timelock");
    block.dataset.role = e.role;
    block.append(el("h4", null, `Time locks of the ${ROLE[e.role] ?? e.role} escrow on ${e.chain}`));
    const first = e.created.at;
    const last = e.stages[e.stages.length - 1]?.at ?? first;
    const span = Math.max(last - first, 1);
    const track = el("div", "track");
    const place = (node, at) => {
      node.style.left = `${Math.min(100, Math.max(0, ((at - first) / span) * 100))}%`;
      track.append(node);
    };
    place(el("span", "tick created"), first);
    for (const stage of e.stages) place(el("span", "tick"), stage.at);
    const marker = el("span", "now-marker");
    marker.title = "now";
    place(marker, now);
    block.append(track);
    const list = el("ol", "stages");
    const created = el("li", "passed");
    created.append(el("span", "stage-time", formatTime(first)), " ",
      el("span", null, `created in block ${e.created.block}`));
    list.append(created);
    for (const stage of e.stages) {
      const passed = now >= stage.at;
      const item = el("li", passed ? "passed" : "ahead");
      item.dataset.stage = stage.stage;
      item.append(el("span", "stage-time", formatTime(stage.at)), " ",
        el("span", null, stage.allows), " ",
        el("span", "muted", passed ? "(open)" : `(in ${formatDuration(stage.at - now)})`));
      list.append(item);
    }
    block.append(list);
    box.append(block);
  }
  return box;
}

function history(fill, open) {
  const details = el("details", "history");
  details.open = open;
  details.append(el("summary", null, `Status history (${fill.history.length})`));
  const list = el("ol");
  for (const step of fill.history) {
    const why = step.reasons.length ? `: ${step.reasons.join(", ")}` : "";
    list.append(el("li", null, `${formatTime(step.at)} ${step.status}${why}`));
  }
  details.append(list);
  return details;
}

/** Render every fill of `timeline` into `container`, keeping open history panels open. */
export function renderFills(container, timeline, now) {
  const open = new Set([...container.querySelectorAll("details.history[open]")]
    .map((d) => d.closest(".fill")?.dataset.fillId));
  const cards = timeline.fills.map((fill) => {
    const card = el("article", "fill");
    card.dataset.fillId = fill.fill_id;
    card.dataset.status = fill.status;
    const title = el("h3");
    title.append(`Fill #${fill.idx} `, el("code", "hash", shortHash(fill.fill_id, 18, 6)), " ",
      el("span", `badge fill-status status-${fill.status}`, fill.status));
    card.append(title, steps(fill), reasons(fill), escrowTable(fill), timelocks(fill, now),
      history(fill, open.has(fill.fill_id)));
    return card;
  });
  container.replaceChildren(...cards);
}
