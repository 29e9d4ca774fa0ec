#!/usr/bin/env node
// A small client of the e1cti CTI bus in Node.js: CURVE, msgpack, resume by seq (docs/gateway.md).
//
//   npm install                                            # zeromq, @msgpack/msgpack from the npm registry
//   node bus-client.mjs --after 0                          # plain mode, default localhost endpoints
//   node bus-client.mjs --key keys/crm.key_secret --server-key keys/server.key --state crm.seq
//   node bus-client.mjs --request '{"type": "AnswerCall", "call": "17", "device": "2001"}'
//
// Events are printed one JSON object per line, in seq order, never twice. The algorithm is the
// bus's (docs/bus.md "Resume algorithm"): subscribe to PUB first, replay from the last seq
// processed, then take live events, drop those at or below it and replay any hole before going
// on. A JournalGap event declares seqs that will never come (printed like any event).
import { readFileSync, writeFileSync, existsSync } from "node:fs";
import { decode, encode } from "@msgpack/msgpack";
import * as zmq from "zeromq";

function parseArgs(argv) {
  const opts = { events: "tcp://127.0.0.1:5560", snapshot: "tcp://127.0.0.1:5561", control: "tcp://127.0.0.1:5562",
                 after: null, count: 0, state: null, key: null, serverKey: null, request: null, timeout: 5000 };
  for (let i = 2; i < argv.length; i++) {
    const k = argv[i].replace(/^--/, "").replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    if (!(k in opts)) throw new Error(`unknown option ${argv[i]}`);
    opts[k] = argv[++i];
  }
  for (const k of ["after", "count", "timeout"]) if (opts[k] !== null) opts[k] = Number(opts[k]);
  return opts;
}

// a cti-keys / pyzmq certificate file: public-key = "<z85>" and secret-key = "<z85>"
function readCert(path) {
  const text = readFileSync(path, "utf8");
  const get = (name) => (text.match(new RegExp(`${name}\\s*=\\s*"([^"]{40})"`)) || [])[1];
  return { publicKey: get("public-key"), secretKey: get("secret-key") };
}

function curve(sock, opts) {
  if (!opts.key) return;
  const mine = readCert(opts.key), server = readCert(opts.serverKey);
  if (!mine.secretKey || !server.publicKey) throw new Error("--key needs NAME.key_secret and --server-key server.key");
  sock.curveSecretKey = mine.secretKey;
  sock.curvePublicKey = mine.publicKey;
  sock.curveServerKey = server.publicKey;
}

class Bus {
  constructor(opts) {
    this.opts = opts;
    this.ids = 1;
  }

  async dealer(endpoint) {
    const s = new zmq.Dealer({ linger: 0, receiveTimeout: this.opts.timeout });
    curve(s, this.opts);
    s.connect(endpoint);
    return s;
  }

  // one request on a DEALER socket, the reply whose id matches
  async ask(sockName, msg) {
    if (!this[sockName]) this[sockName] = await this.dealer(this.opts[sockName]);
    const id = this.ids++;
    await this[sockName].send(encode({ ...msg, id, invoke: id }));
    for (;;) {
      const [frame] = await this[sockName].receive();
      const reply = decode(frame);
      if (reply.id === id || reply.invoke === id || (reply.id == null && reply.invoke == null)) return reply;
    }
  }

  async replay(after) {
    const r = await this.ask("snapshot", { op: "replay", after, limit: 1000 });
    if (r.op === "error") throw Object.assign(new Error(r.error.message), { code: r.error.code });
    return { events: r.events.map((b) => decode(b)), last: Number(r.last), head: Number(r.head) };
  }

  async request(req) {
    const r = await this.ask("control", req);
    return r.error ? { error: r.error } : { result: r.result || {} };
  }

  close() {
    for (const k of ["snapshot", "control", "sub"]) if (this[k]) this[k].close();
  }
}

function emit(e) {
  process.stdout.write(JSON.stringify(e, (_k, v) => (typeof v === "bigint" ? Number(v) : v)) + "\n");
}

async function main() {
  const opts = parseArgs(process.argv);
  const bus = new Bus(opts);
  if (opts.request) {
    emit(await bus.request(JSON.parse(opts.request)));
    bus.close();
    return;
  }
  let last = opts.after;
  if (last === null && opts.state && existsSync(opts.state)) last = Number(readFileSync(opts.state, "utf8"));
  const sub = bus.sub = new zmq.Subscriber({ linger: 0 });
  curve(sub, opts);
  sub.connect(opts.events);
  sub.subscribe();                                     // PUB first, so nothing falls between replay and live
  if (last === null) last = Number((await bus.ask("snapshot", { op: "snapshot" })).seq);
  let seen = 0;
  const done = () => opts.count && seen >= opts.count;
  const deliver = (e) => {
    emit(e);
    last = Number(e.seq);
    seen += 1;
    if (opts.state) writeFileSync(opts.state, String(last));
  };
  const catchUp = async (upto) => {                    // replay until `upto` (or the head) is covered
    for (;;) {
      const r = await bus.replay(last);
      for (const e of r.events) if (Number(e.seq) > last && !done()) deliver(e);
      if (r.last <= last || done()) return;
      last = r.last;
      if (last >= (upto ?? r.head)) return;
    }
  };
  await catchUp(null);
  while (!done()) {
    const [, data] = await sub.receive();
    const e = decode(data);
    const seq = Number(e.seq);
    if (seq <= last) continue;                         // already had it from the replay
    if (seq > last + 1) await catchUp(seq - 1);        // a hole (slow join, HWM drop): replay it first
    if (seq > last && !done()) deliver(e);
  }
  emit({ done: true, last });
  bus.close();
}

main().catch((err) => {
  process.stderr.write(`bus-client: ${err.code || ""} ${err.message}\n`);
  process.exit(1);
});
