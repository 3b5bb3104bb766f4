// The order book page (/): every order, newest first, kept current by the WebSocket's
// `orders` and `prices` channels.

import { Tokens } from "./amounts.js";
import { ServerClock, auctionOpen, getAllOrders, getJSON } from "./api.js";
import { el, shortHash, timeLeft } from "./format.js";
import { Live } from "./live.js";

const clock = new ServerClock();
const orders = new Map();
const rows = new Map();
let tokens = new Tokens([]);

const body = document.getElementById("book-rows");
const empty = document.getElementById("empty");
const notice = document.getElementById("notice");

function pairText(o) {
  const w = o.order;
  return `${tokens.symbol(w.src_chain, w.maker_asset)} (${w.src_chain}) → `
    + `${tokens.symbol(w.dst_chain, w.taker_asset)} (${w.dst_chain})`;
}

function rowFor(hash) {
  let row = rows.get(hash);
  if (row) return row;
  row = el("tr");
  row.dataset.orderHash = hash;
  const link = el("a", "hash", shortHash(hash, 10, 6));
  link.href = `/orders/${hash}`;
  link.title = hash;
  const first = el("td", "order");
  first.append(link);
  row.append(first);
  for (const name of ["status", "pair", "making num", "price num", "floor num", "filled num",
    "time-left num"]) {
    row.append(el("td", name));
  }
  rows.set(hash, row);
  return row;
}

function cell(row, name) {
  return row.querySelector(`td.${name}`);
}

function renderRow(o) {
  const row = rowFor(o.order_hash);
  const w = o.order;
  cell(row, "status").replaceChildren(el("span", `badge status-${o.status}`, o.status));
  cell(row, "pair").textContent = pairText(o);
  cell(row, "making").textContent = tokens.amount(w.src_chain, w.maker_asset, w.making_amount);
  renderPrice(o);
  cell(row, "floor").textContent = tokens.amount(w.dst_chain, w.taker_asset, w.taking_amount);
  cell(row, "filled").textContent = o.filled_making_amount === "0" ? "—"
    : tokens.amount(w.src_chain, w.maker_asset, o.filled_making_amount);
  cell(row, "time-left").textContent = timeLeft(o, clock.now());
}

function renderPrice(o) {
  const row = rowFor(o.order_hash);
  const w = o.order;
  cell(row, "price").textContent = auctionOpen(o.status)
    ? tokens.amount(w.dst_chain, w.taker_asset, o.price.taking_amount) : "—";
}

function renderAll() {
  const sorted = [...orders.values()].sort(
    (a, b) => b.submitted_at - a.submitted_at || (a.order_hash < b.order_hash ? -1 : 1));
  for (const o of sorted) renderRow(o);
  body.replaceChildren(...sorted.map((o) => rowFor(o.order_hash)));
  empty.hidden = sorted.length > 0;
}

function upsert(o) {
  const known = orders.has(o.order_hash);
  orders.set(o.order_hash, o);
  clock.observe(o.price?.at);
  if (known) renderRow(o);
  else renderAll();
}

function applyPrice(p) {
  const o = orders.get(p.order_hash);
  clock.observe(p.at);
  if (!o) return;
  o.price = { at: p.at, rate_bump: p.rate_bump, taking_amount: p.taking_amount,
    base_fee: p.base_fee };
  renderPrice(o);
}

async function reload() {
  try {
    for (const o of await getAllOrders("")) orders.set(o.order_hash, o);
    for (const o of orders.values()) clock.observe(o.price?.at);
    renderAll();
    notice.hidden = true;
  } catch (error) {
    notice.textContent = `Could not read the order book: ${error.message}`;
    notice.hidden = false;
  }
}

function onEvent(message) {
  const { event, data } = message;
  if (event === "snapshot") {
    for (const o of data?.orders ?? []) upsert(o);
    for (const p of data?.prices ?? []) applyPrice(p);
  } else if (event === "price_update") {
    for (const p of Array.isArray(data) ? data : [data]) applyPrice(p);
  } else if (event.startsWith("order_")) {
    upsert(data);
  }
}

async function main() {
  tokens = new Tokens((await getJSON("/api/tokens")).tokens);
  await reload();
  new Live({ channels: ["orders", "prices"], onEvent, onResync: reload,
    stateElement: document.getElementById("live-state") }).start();
  setInterval(() => {
    const now = clock.now();
    for (const o of orders.values()) cell(rowFor(o.order_hash), "time-left").textContent = timeLeft(o, now);
  }, 1000);
}

main().catch((error) => {
  notice.textContent = `The explorer could not start: ${error.message}`;
  notice.hidden = false;
});
