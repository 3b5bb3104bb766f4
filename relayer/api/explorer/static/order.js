// One order's page (/orders/{hash}): its terms, its auction curve with the price moving
// on the WebSocket's ticks, and its fills' escrows on both chains.

import { Tokens, formatGwei, formatRateBump, subtract } from "./amounts.js";
import { ApiError, ServerClock, auctionOpen, getJSON } from "./api.js";
import { CurveChart } from "./chart.js";
import { renderFills } from "./fills.js";
import { el, formatTime, timeLeft } from "./format.js";
import { Live } from "./live.js";

const POLL_MS = 1000;
const FINISHED_ORDER = new Set(["executed", "refunded", "cancelled", "expired"]);
const QUIET_FILL = new Set(["settled", "refunded", "foreign", "reverted"]);

const hash = decodeURIComponent(location.pathname.split("/").pop()).toLowerCase();
const clock = new ServerClock();
const $ = (id) => document.getElementById(id);
const chart = new CurveChart($("chart"), $("chart-missing"));
const state = { order: null, curve: null, timeline: null, tokens: new Tokens([]), chart };
window.explorer = state; // for a look from the browser's console

let loading = null;

function taker(value) {
  const w = state.order.order;
  return state.tokens.amount(w.dst_chain, w.taker_asset, value);
}

function maker(value) {
  const w = state.order.order;
  return state.tokens.amount(w.src_chain, w.maker_asset, value);
}

function renderOrder() {
  const o = state.order;
  const w = o.order;
  const t = state.tokens;
  $("order-status").textContent = o.status;
  $("order-status").className = `badge status-${o.status}`;
  $("status-reason").textContent = o.status_reason ? `Status reason: ${o.status_reason}` : "";
  $("pair").textContent = `${t.symbol(w.src_chain, w.maker_asset)} on ${w.src_chain} → `
    + `${t.symbol(w.dst_chain, w.taker_asset)} on ${w.dst_chain}`;
  $("making").textContent = maker(w.making_amount);
  $("floor").textContent = taker(w.taking_amount);
  $("maker").textContent = w.maker;
  $("receiver").textContent = w.receiver;
  $("submitted").textContent = formatTime(o.submitted_at);
  $("deadline").textContent = formatTime(w.deadline);
  const paid = o.fills.reduce((sum, f) => sum + BigInt(f.taking_amount), 0n).toString();
  const parts = [`${maker(o.filled_making_amount)} of ${maker(w.making_amount)}`];
  if (o.fills.length > 0) parts[0] += ` for ${taker(paid)}`;
  if (o.executed_making_amount !== "0") parts.push(`settled ${maker(o.executed_making_amount)}`);
  if (o.refunded_making_amount !== "0") parts.push(`refunded ${maker(o.refunded_making_amount)}`);
  $("filled").textContent = parts.join(" · ");
  renderPrice(o.price);
}

function renderPrice(price) {
  const w = state.order.order;
  clock.observe(price.at);
  state.order.price = price;
  renderClock();
  if (!auctionOpen(state.order.status)) {
    $("current-price").textContent = "auction over";
    $("rate-bump").textContent = "";
    chart.mark(null, null);
    return;
  }
  const above = subtract(price.taking_amount, w.taking_amount);
  $("current-price").textContent = taker(price.taking_amount);
  $("rate-bump").textContent = `rate bump ${formatRateBump(price.rate_bump)}, `
    + `${taker(above)} above the floor, at ${formatTime(price.at)}`;
  chart.mark(price.at, price.taking_amount);
}

function renderClock() {
  $("time-left").textContent = timeLeft(state.order, clock.now());
}

function renderCurve() {
  const c = state.curve;
  const w = state.order.order;
  const token = state.tokens.get(w.dst_chain, w.taker_asset);
  chart.draw(c, token?.decimals ?? 0, token?.symbol ?? w.taker_asset);
  renderPrice(state.order.price);
  $("curve-start").textContent = `${taker(c.start.taking_amount)} at ${formatTime(c.start.at)} `
    + `(rate bump ${formatRateBump(c.start.rate_bump)})`;
  const points = c.points.map((p) => el("li", null, `${taker(p.taking_amount)} at `
    + `${formatTime(p.at)} (rate bump ${formatRateBump(p.auction_rate_bump)})`));
  if (points.length === 0) points.push(el("li", "muted", "none: a straight fall to the floor"));
  $("curve-points").classList.toggle("none", c.points.length === 0);
  $("curve-points").replaceChildren(...points);
  $("curve-floor").textContent = `${taker(c.floor.taking_amount)} from ${formatTime(c.floor.at)}`;
  const g = c.gas;
  $("curve-gas").textContent = g.gas_bump_estimate === 0 || g.gas_price_estimate === 0
    ? "none: the order carries no gas estimate"
    : `−${formatRateBump(g.gas_bump)} at base fee ${formatGwei(g.base_fee)} (estimate: `
      + `${formatRateBump(g.gas_bump_estimate)} at ${formatGwei((BigInt(g.gas_price_estimate) * 1000000n).toString())})`;
}

function renderTimeline() {
  const t = state.timeline;
  clock.observe(t.at);
  $("no-fills").hidden = t.fills.length > 0;
  renderFills($("fill-list"), t, clock.now());
}

async function loadOrder() {
  state.order = await getJSON(`/api/orders/${hash}`);
  renderOrder();
}

async function loadCurve() {
  state.curve = await getJSON(`/api/orders/${hash}/curve`);
  renderCurve();
}

async function loadTimeline() {
  state.timeline = await getJSON(`/api/orders/${hash}/timeline`);
  renderTimeline();
}

/** Read the timeline again (at most one request at a time). */
function refresh() {
  if (loading === null) {
    loading = loadTimeline().catch(() => {}).finally(() => { loading = null; });
  }
  return loading;
}

function moving() {
  if (!state.order || !state.timeline) return true;
  return !FINISHED_ORDER.has(state.order.status)
    || state.timeline.fills.some((f) => !QUIET_FILL.has(f.status));
}

function onEvent(message) {
  const { event, data } = message;
  if (message.channel.startsWith("prices:")) {
    if (data && data.taking_amount !== undefined) onPrice(data);
  } else if (event === "snapshot" || event.startsWith("order_")) {
    state.order = data;
    renderOrder();
    refresh();
  } else if (event === "escrow_created") {
    refresh();
  }
}

function onPrice(price) {
  if (!auctionOpen(state.order.status)) return;
  renderPrice({ at: price.at, rate_bump: price.rate_bump, taking_amount: price.taking_amount,
    base_fee: price.base_fee });
  const gas = state.curve?.gas;
  if (gas && gas.gas_bump_estimate !== 0 && price.base_fee !== gas.base_fee) {
    loadCurve().catch(() => {});
  }
}

async function resync() {
  await Promise.all([loadOrder(), refresh()]);
}

async function main() {
  $("order-hash").textContent = hash;
  document.title = `Order ${hash.slice(0, 10)}… · relayer explorer`;
  try {
    state.tokens = new Tokens((await getJSON("/api/tokens")).tokens);
    await loadOrder();
  } catch (error) {
    const missing = error instanceof ApiError && error.status === 404;
    $("notice").textContent = missing ? `No order ${hash} on this relayer.`
      : `Could not read the order: ${error.message}`;
    $("notice").hidden = false;
    return;
  }
  $("order").hidden = false;
  await Promise.all([loadCurve(), refresh()]);
  new Live({ channels: [`order:${hash}`, `prices:${hash}`], onEvent, onResync: resync,
    stateElement: $("live-state") }).start();
  setInterval(renderClock, 1000);
  setInterval(() => { if (moving()) refresh(); }, POLL_MS);
}

main().catch((error) => {
  $("notice").textContent = `The explorer could not start: ${error.message}`;
  $("notice").hidden = false;
});
