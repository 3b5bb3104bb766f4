// The relayer's WebSocket (/ws, docs/websocket.md): subscribe to channels, follow their
// sequence numbers, and ask the page to read REST again after a gap or a reconnect.

const MAX_BACKOFF_MS = 10000;

export class Live {
  /**
   * channels: names to subscribe to; onEvent(message) for every channel message
   * (snapshots included); onResync() when messages may have been missed;
   * stateElement: shows "connecting", "live" or "reconnecting".
   */
  constructor({ channels, onEvent, onResync, stateElement }) {
    this.channels = channels;
    this.onEvent = onEvent;
    this.onResync = onResync;
    this.stateElement = stateElement;
    this.retries = 0;
    this.connectedBefore = false;
  }

  start() {
    this.connect();
  }

  connect() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(`${scheme}//${location.host}/ws`);
    const pending = new Set();
    this.seq = new Map();
    this.socket = socket;
    socket.addEventListener("open", () => {
      this.retries = 0;
      this.channels.forEach((channel, index) => {
        pending.add(index + 1);
        socket.send(JSON.stringify({ id: index + 1, method: "subscribe", params: { channel } }));
      });
      if (this.connectedBefore) this.onResync();
      this.connectedBefore = true;
    });
    socket.addEventListener("message", (message) => {
      const data = JSON.parse(message.data);
      if (data.event === undefined) {
        if (data.error) console.warn("relayer websocket:", data.error);
        pending.delete(data.id);
        if (pending.size === 0) this.show("live");
        return;
      }
      this.receive(data);
    });
    socket.addEventListener("close", () => {
      this.show("reconnecting");
      const delay = Math.min(500 * 2 ** this.retries, MAX_BACKOFF_MS);
      this.retries += 1;
      setTimeout(() => this.connect(), delay);
    });
  }

  receive(message) {
    if (message.channel === null) return; // heartbeat
    const last = this.seq.get(message.channel);
    this.seq.set(message.channel, message.seq);
    if (message.event !== "snapshot" && last !== undefined && message.seq !== last + 1) {
      this.onResync();
    }
    this.onEvent(message);
  }

  show(state) {
    if (!this.stateElement) return;
    this.stateElement.dataset.state = state;
    this.stateElement.textContent = state;
  }
}
