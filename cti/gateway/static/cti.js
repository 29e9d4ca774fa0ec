// cti.js - a dependency-free ES module for the cti-gateway WebSocket protocol (docs/gateway.md).
//
//   import { CtiClient } from "/static/cti.js";
//   const cti = new CtiClient({ token, topics: [""] });
//   cti.on("snapshot", snap => ...); cti.on("event", e => ...); cti.on("status", s => ...);
//   await cti.connect();                          // auth, then snapshot-then-stream
//   const result = await cti.request({ type: "AnswerCall", call: "17", device: "2001" });
//
// It keeps the seq of the last event it received and, when the socket drops, reconnects and
// subscribes with {after: last}: the gateway replays what was missed (no gap, no duplicate).
// An "overflow" message (this page read too slowly) is followed by the missed events, so it is
// only reported. A request's promise rejects with a CtiError carrying the typed error code.

export class CtiError extends Error {
  constructor(error) {
    super(error && error.message ? error.message : String(error && error.code));
    this.code = error && error.code;
    this.details = (error && error.details) || {};
  }
}

export class CtiClient {
  constructor({ url, token = null, topics = [""], snapshot = true, reconnect = 1000 } = {}) {
    const loc = globalThis.location;
    this.url = url || (loc ? (loc.protocol === "https:" ? "wss://" : "ws://") + loc.host + "/ws" : "ws://127.0.0.1:8080/ws");
    this.token = token;
    this.topics = topics;
    this.wantSnapshot = snapshot;
    this.reconnectDelay = reconnect;
    this.last = null;            // seq of the last event received (or covered by a snapshot)
    this.account = null;
    this.mode = null;
    this.ws = null;
    this.closed = false;
    this.nextId = 1;
    this.pending = new Map();
    this.handlers = new Map();
    this.counters = { events: 0, overflows: 0, reconnects: 0, gaps: 0 };
  }

  on(name, fn) {
    if (!this.handlers.has(name)) this.handlers.set(name, []);
    this.handlers.get(name).push(fn);
    return this;
  }

  emit(name, arg) {
    for (const fn of this.handlers.get(name) || []) {
      try { fn(arg); } catch (err) { console.error("cti.js handler", name, err); }
    }
  }

  connect() {
    this.closed = false;
    return new Promise((resolve, reject) => {
      let settled = false;
      const ws = this.ws = new WebSocket(this.url);
      ws.onopen = () => this.emit("status", "open");
      ws.onmessage = (m) => {
        let msg;
        try { msg = JSON.parse(m.data); } catch (err) { console.error("cti.js: not JSON", m.data); return; }
        if (msg.op === "hello") {
          this.mode = msg.mode;
          this.account = msg.account;
          const go = () => this.subscribe().then(() => { if (!settled) { settled = true; resolve(this); } },
                                                  (err) => { if (!settled) { settled = true; reject(err); } });
          if (this.token && !msg.account) {
            this.call({ op: "auth", token: this.token }).then((r) => { this.account = r.account; go(); },
              (err) => { settled = true; this.closed = true; reject(err); });
          } else {
            go();
          }
          this.emit("hello", msg);
          return;
        }
        this.dispatch(msg);
      };
      ws.onclose = (ev) => {
        this.emit("status", "closed");
        for (const [, p] of this.pending) p.reject(new CtiError({ code: "Disconnected", message: "connection closed" }));
        this.pending.clear();
        if (!settled) { settled = true; reject(new CtiError({ code: "Disconnected", message: `closed (${ev.code}) ${ev.reason || ""}` })); }
        if (ev.code === 4001) { this.closed = true; this.emit("autherror", ev.reason); }
        if (!this.closed) {
          this.counters.reconnects += 1;
          setTimeout(() => this.connect().catch(() => {}), this.reconnectDelay);
        }
      };
    });
  }

  close() {
    this.closed = true;
    if (this.ws) this.ws.close(1000, "bye");
  }

  // one message with an id, resolved by the answer that echoes it
  call(msg) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, op: msg.op });
      this.ws.send(JSON.stringify({ ...msg, id }));
    });
  }

  subscribe() {
    const msg = { op: "subscribe", topics: this.topics };
    if (this.last !== null) msg.after = this.last;
    else if (this.wantSnapshot) msg.snapshot = true;
    return this.call(msg);
  }

  request(req) {
    return this.call({ op: "request", request: req });
  }

  snapshot() {
    return this.call({ op: "snapshot" });
  }

  dispatch(msg) {
    switch (msg.op) {
      case "events":
        for (const e of msg.events) {
          if (this.last !== null && e.seq <= this.last) continue;      // never twice
          this.last = e.seq;
          this.counters.events += 1;
          this.emit("event", e);
        }
        if (this.last === null || msg.last > this.last) this.last = msg.last;
        return;
      case "snapshot":
        this.last = msg.seq;
        this.emit("snapshot", msg);
        // a snapshot-then-stream subscribe is settled by the "subscribed" that follows
        if (this.pending.has(msg.id) && this.pending.get(msg.id).op !== "subscribe") this.settle(msg.id, msg);
        return;
      case "overflow":
        this.counters.overflows += 1;
        this.emit("overflow", msg);
        return;
      case "gap":
        this.counters.gaps += 1;
        this.emit("gap", msg);
        return;
      case "error":
        if (msg.id !== undefined && msg.id !== null && this.pending.has(msg.id)) {
          const p = this.pending.get(msg.id);
          this.pending.delete(msg.id);
          p.reject(new CtiError(msg.error));
        } else {
          if (msg.error && msg.error.code === "ReplayGapError") {
            // the seq we hold means nothing any more (journal replaced or pruned): start from a snapshot
            this.last = null;
            this.subscribe().catch(() => {});
          }
          this.emit("error", new CtiError(msg.error));
        }
        return;
      case "reply":
        if (this.pending.has(msg.id)) {
          const p = this.pending.get(msg.id);
          this.pending.delete(msg.id);
          if (msg.error) p.reject(new CtiError(msg.error)); else p.resolve(msg.result);
        }
        return;
      default:
        if (msg.id !== undefined && this.pending.has(msg.id)) this.settle(msg.id, msg);
        else this.emit(msg.op, msg);
    }
  }

  settle(id, msg) {
    const p = this.pending.get(id);
    this.pending.delete(id);
    p.resolve(msg);
  }
}

// ---- small helpers the pages share -----------------------------------------------------------

export function fmtDuration(seconds) {
  if (seconds === null || seconds === undefined || !isFinite(seconds)) return "-";
  const s = Math.max(0, Math.floor(seconds));
  const m = Math.floor(s / 60), r = s % 60;
  return m >= 60 ? `${Math.floor(m / 60)}:${String(m % 60).padStart(2, "0")}:${String(r).padStart(2, "0")}`
                 : `${m}:${String(r).padStart(2, "0")}`;
}

export function fmtPercent(v) {
  return v === null || v === undefined ? "-" : `${Number(v).toFixed(1)} %`;
}

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (v !== null && v !== undefined && v !== false) node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) node.append(c instanceof Node ? c : document.createTextNode(c === null || c === undefined ? "" : String(c)));
  return node;
}

export function applyI18n(dict, lang) {
  const t = dict[lang] || dict.en;
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  for (const node of document.querySelectorAll("[data-i18n]")) {
    const key = node.getAttribute("data-i18n");
    if (t[key] !== undefined) node.textContent = t[key];
  }
  for (const node of document.querySelectorAll("[data-i18n-placeholder]")) {
    const key = node.getAttribute("data-i18n-placeholder");
    if (t[key] !== undefined) node.setAttribute("placeholder", t[key]);
  }
  return (key) => (t[key] !== undefined ? t[key] : (dict.en[key] !== undefined ? dict.en[key] : key));
}

// the pages' language switch: remembered, labels, the switch button (#lang) and the plain-mode banner (#warning)
export function setLanguage(dict, lang, config) {
  localStorage.setItem("cti.lang", lang);
  const t = applyI18n(dict, lang);
  document.getElementById("lang").textContent = t("lang");
  const warning = config && config.warning;
  document.getElementById("warning").textContent = lang === "zh" && warning ? t("plainWarning") : (warning || "");
  return t;
}

// a line in the page's message log (#log), newest first, the last 50
export function pageLog(text, err = false) {
  const box = document.getElementById("log");
  box.prepend(el("div", { class: err ? "err" : "" }, `${new Date().toLocaleTimeString()} ${text}`));
  while (box.childNodes.length > 50) box.lastChild.remove();
}
