// Times and durations as text (unix seconds; shown in UTC).

export function formatTime(unix) {
  if (!Number.isFinite(unix)) return "";
  return new Date(unix * 1000).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
}

export function formatClock(unix) {
  return formatTime(unix).slice(11);
}

export function formatDuration(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} m ${String(s % 60).padStart(2, "0")} s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${String(m % 60).padStart(2, "0")} m`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

export function shortHash(text, head = 8, tail = 6) {
  return text.length > head + tail + 1 ? `${text.slice(0, head)}…${text.slice(-tail)}` : text;
}

/** What a person reads in the "time left" cell for an order at server time `now`. */
export function timeLeft(order, now) {
  const { status } = order;
  if (status === "pending" && now < order.auction_start) {
    return `starts in ${formatDuration(order.auction_start - now)}`;
  }
  if (status === "active" || status === "partially_filled" || status === "pending") {
    if (now < order.auction_end) return formatDuration(order.auction_end - now);
    if (now < order.order.deadline) return `at floor, ${formatDuration(order.order.deadline - now)} to deadline`;
    return "past deadline";
  }
  return "—";
}

/** A new element with a class and text (never HTML from data). */
export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}
