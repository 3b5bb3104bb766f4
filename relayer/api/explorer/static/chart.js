// The auction curve, drawn with uPlot from the points the relayer computed
// (GET /api/orders/{hash}/curve). Plot coordinates are approximations of the exact
// amounts; every figure shown as text comes from the exact strings instead.

import { toPlotNumber } from "./amounts.js";

const PRICE = "#2563eb";
const BEFORE_GAS = "#94a3b8";
const NOW = "#dc2626";

export class CurveChart {
  constructor(element, missingNotice) {
    this.element = element;
    this.missingNotice = missingNotice;
    this.plot = null;
    this.marker = null;
  }

  /** Draw `curve` (amounts in the taker asset with `decimals`, labelled `symbol`). */
  draw(curve, decimals, symbol) {
    const uPlot = window.uPlot;
    if (typeof uPlot !== "function") {
      this.missingNotice.hidden = false;
      return;
    }
    const xs = curve.samples.map((p) => p.at);
    const price = curve.samples.map((p) => toPlotNumber(p.taking_amount, decimals));
    const withGas = curve.samples.some((p) => p.taking_amount !== p.auction_taking_amount);
    const series = [{}, { label: `price (${symbol})`, stroke: PRICE, width: 2,
      points: { show: false } }];
    const data = [xs, price];
    if (withGas) {
      series.push({ label: "before the gas adjustment", stroke: BEFORE_GAS, width: 1,
        dash: [6, 4], points: { show: false } });
      data.push(curve.samples.map((p) => toPlotNumber(p.auction_taking_amount, decimals)));
    }
    const options = {
      width: Math.max(this.element.clientWidth, 320),
      height: 280,
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
      scales: { x: { time: true } },
      series,
      axes: [{}, { label: symbol, size: 90 }],
      hooks: { draw: [(u) => this.drawMarker(u)] },
    };
    if (this.plot) this.plot.destroy();
    this.element.replaceChildren();
    this.plot = new uPlot(options, data, this.element);
    this.decimals = decimals;
    window.addEventListener("resize", () => this.resize(), { once: true });
  }

  resize() {
    if (!this.plot) return;
    this.plot.setSize({ width: Math.max(this.element.clientWidth, 320), height: 280 });
    window.addEventListener("resize", () => this.resize(), { once: true });
  }

  /** Mark the current price (a point of the curve at `at`). */
  mark(at, takingAmount) {
    this.marker = at === null ? null : { at, value: takingAmount };
    if (this.plot) this.plot.redraw(false);
  }

  drawMarker(u) {
    if (!this.marker) return;
    const [start, end] = [u.data[0][0], u.data[0][u.data[0].length - 1]];
    const at = Math.min(Math.max(this.marker.at, start), end);
    const x = u.valToPos(at, "x", true);
    const y = u.valToPos(toPlotNumber(this.marker.value, this.decimals), "y", true);
    const { ctx } = u;
    ctx.save();
    ctx.strokeStyle = NOW;
    ctx.setLineDash([3, 3]);
    ctx.beginPath();
    ctx.moveTo(x, u.bbox.top);
    ctx.lineTo(x, u.bbox.top + u.bbox.height);
    ctx.stroke();
    ctx.setLineDash([]);
    ctx.fillStyle = NOW;
    ctx.beginPath();
    ctx.arc(x, y, 5 * devicePixelRatio, 0, 2 * Math.PI);
    ctx.fill();
    ctx.restore();
  }
}
