// The agent desktop: log on, states, screen-pop, call control, wrap-up notes, today's calls.
// It speaks only the documented WebSocket protocol, through cti.js.
import { CtiClient, applyI18n, el, fmtDuration, pageLog, setLanguage } from "/static/cti.js";

const I18N = {
  zh: {
    plainWarning: "明文模式：网关不校验令牌，每个浏览器都以开发用集成账户身份操作，只监听本机回环地址。其他场合请使用 --keys（令牌）和 --cert/--key（TLS）。",
    title: "坐席工作台", offline: "未连接", online: "已连接", logon: "签入", agentId: "工号", device: "分机",
    token: "令牌", logonBtn: "签入", logoffBtn: "签出", agentState: "坐席状态", acw: "话后处理",
    ready: "就绪", notReady: "示忙", r_Break: "小休", r_Lunch: "午餐", r_Training: "培训", r_Meeting: "会议",
    r_Admin: "行政事务", screenPop: "来电弹屏", calling: "主叫号码", called: "被叫号码", callState: "通话状态",
    ivr: "IVR / 随路数据", crm: "客户资料", answer: "接听", hold: "保持", retrieve: "恢复", clear: "挂断",
    consultTo: "咨询号码", consult: "咨询", transfer: "转接", conference: "会议", alternate: "切换",
    dtmf: "二次拨号 (DTMF)", send: "发送", notes: "小结备注", saveNotes: "保存小结", todayCalls: "今日通话",
    time: "时间", call: "呼叫", talk: "通话时长", log: "消息",
    LoggedOff: "未签入", NotReady: "示忙", Ready: "就绪", Busy: "通话中", Reserved: "预占",
    WorkingAfterCall: "话后处理", alerting: "振铃", connected: "通话", hold_state: "保持", queued: "排队",
    preview: "预览外呼", campaign: "外呼活动", pvNext: "下一条", pvNumber: "号码", pvData: "客户资料",
    pvDial: "拨打", pvSkip: "跳过", pvNone: "没有预览式外呼活动", outbound: "外呼",
    mode_preview: "预览式", mode_progressive: "渐进式", mode_predictive: "预测式",
    noCrm: "无客户记录", saved: "小结已保存", deviceOnly: "此服务器没有呼叫中心（无坐席状态）：只显示分机 {device} 的通话", incoming: "来电", lang: "English",
  },
  en: {
    title: "Agent desktop", offline: "offline", online: "online", logon: "Log on", agentId: "Agent ID", device: "Device",
    token: "Token", logonBtn: "Log on", logoffBtn: "Log off", agentState: "Agent state", acw: "After-call work",
    ready: "Ready", notReady: "Not ready", r_Break: "Break", r_Lunch: "Lunch", r_Training: "Training",
    r_Meeting: "Meeting", r_Admin: "Admin", screenPop: "Screen pop", calling: "Calling number", called: "Called number",
    callState: "Call state", ivr: "IVR / call data", crm: "CRM record", answer: "Answer", hold: "Hold",
    retrieve: "Retrieve", clear: "Clear", consultTo: "Consult number", consult: "Consult", transfer: "Transfer",
    conference: "Conference", alternate: "Alternate", dtmf: "Send DTMF", send: "Send", notes: "Wrap-up notes",
    saveNotes: "Save notes", todayCalls: "Today's calls", time: "Time", call: "Call", talk: "Talk", log: "Messages",
    LoggedOff: "Logged off", NotReady: "Not ready", Ready: "Ready", Busy: "Busy", Reserved: "Reserved",
    WorkingAfterCall: "After-call work", alerting: "ringing", connected: "connected", hold_state: "on hold",
    queued: "queued", noCrm: "no CRM record", saved: "notes saved",
    preview: "Preview dialling", campaign: "Campaign", pvNext: "Next record", pvNumber: "Number", pvData: "Record",
    pvDial: "Dial", pvSkip: "Skip", pvNone: "no preview campaign", outbound: "outbound",
    mode_preview: "preview", mode_progressive: "progressive", mode_predictive: "predictive",
    deviceOnly: "this server runs no contact centre (no agent states): calls at device {device} only", incoming: "Incoming call", lang: "中文",
  },
};

const $ = (id) => document.getElementById(id);
const qs = new URLSearchParams(location.search);
let lang = qs.get("lang") || localStorage.getItem("cti.lang") || "zh";
let t = applyI18n(I18N, lang);
let config = { mode: "plain", crm_url: "/crm/{calling}", warning: "" };

const me = { agent: null, device: null, state: "LoggedOff", reason: "", since: Date.now() / 1000, acwSince: null };
const calls = new Map();     // call id -> {call, calling, called, state (at my device), ivr[], since, answered}
let cti = null;
let online = false;
let lastPop = null;
const preview = { campaigns: [], record: null };   // the agent's campaigns (snapshot), the record shown

const log = pageLog;

function setLang(l) {
  lang = l;
  t = setLanguage(I18N, lang, config);
  $("conn").textContent = t(online ? "online" : "offline");     // a state, not the label's default
  render();
}

// ---- state from events ------------------------------------------------------------------------
function mine(e) {
  return me.device && (e.device === me.device);
}

function callOf(id) {
  if (!calls.has(id)) calls.set(id, { call: id, calling: "", called: "", state: null, ivr: [], since: Date.now() / 1000, answered: null, data: {} });
  return calls.get(id);
}

function onSnapshot(snap) {
  calls.clear();
  for (const c of snap.calls || []) {
    seen.set(c.call, { calling: c.calling, called: c.called, data: c.user_data });
    const conn = (c.connections || []).find((x) => x.device === me.device);
    if (!conn && !(c.devices || []).includes(me.device)) continue;
    const k = callOf(c.call);
    Object.assign(k, { calling: c.calling || "", called: c.called || "", state: conn ? conn.state : "alerting",
                       data: c.user_data || c.data || {} });
  }
  preview.campaigns = (snap.campaigns || []).map((c) => ({ campaign: c.campaign, mode: c.mode }));
  const a = (snap.agents || []).find((x) => x.agent === me.agent);
  if (a) {
    me.state = a.state; me.reason = a.reason || "";
    me.since = Date.now() / 1000;
  }
  render();
}

function onEvent(e) {
  const type = e.type;
  if (e.topic && e.topic.startsWith("agent.") && e.agent === me.agent) {
    me.state = type === "AgentBusy" ? "Busy" : e.state;
    me.reason = e.reason || (type === "AgentBusy" ? e.phase : "");
    me.since = e.time || Date.now() / 1000;
    me.acwSince = type === "AgentWorkingAfterCall" ? me.since : null;
    if (type === "AgentLoggedOff") { me.state = "LoggedOff"; }
  } else if (e.topic && e.topic.startsWith("queue.") && type === "AgentOffered") {
    const d = e.data || {};
    const devs = [...(d.devices || []), ...(e.devices || [])];
    if (devs.includes(me.device) || (d.agents || []).includes(me.agent)) {
      const c = callOf(e.call);
      const s = seen.get(e.call) || {};
      c.calling = c.calling || d.caller || s.calling || "";
      c.called = c.called || s.called || "";
      if (s.data) c.data = s.data;
      if (!c.state || c.state === "null" || c.state === "queued") c.state = "alerting";
      pop(c);
    }
  } else if (e.topic && e.topic.startsWith("campaign.") && type === "CampaignStatus") {
    const k = preview.campaigns.find((x) => x.campaign === e.campaign);
    if (k) k.mode = e.mode;
  } else if (e.topic && e.topic.startsWith("ivr.") && type === "DigitsCollected") {
    if (calls.has(e.call)) { calls.get(e.call).ivr.push(`${e.menu || "ivr"}: ${e.digits}`); }
    else { pendingIvr.set(e.call, [...(pendingIvr.get(e.call) || []), `${e.menu || "ivr"}: ${e.digits}`]); }
  } else if (e.topic && e.topic.startsWith("call.")) {
    const known = calls.has(e.call);
    if (!known && done.has(e.call) && !(mine(e) && e.type === "Delivered")) return;   // a call we left
    if (e.calling || e.called) seen.set(e.call, { calling: e.calling, called: e.called, data: e.user_data });
    if (seen.size > 500) seen.delete(seen.keys().next().value);
    if (!known && !(mine(e) || (e.devices || []).includes(me.device))) {
      rememberCaller(e);
      return;
    }
    const c = callOf(e.call);
    c.calling = e.calling || c.calling;
    c.called = e.called || c.called;
    if (e.user_data) c.data = e.user_data;
    if (pendingIvr.has(e.call)) { c.ivr.push(...pendingIvr.get(e.call)); pendingIvr.delete(e.call); }
    if (mine(e)) {
      c.state = e.state;
      if (type === "Delivered") pop(c);
      if (type === "Established") c.answered = e.time || Date.now() / 1000;
    }
    if (type === "Conferenced") {        // the other calls were merged into this one: they are gone here
      for (const old of e.old_calls || []) {
        if (old !== e.call && calls.has(old)) { calls.delete(old); done.add(old); }
      }
    }
    if (type === "CallCleared" || (mine(e) && type === "ConnectionCleared")) finish(c, e);
    if (type === "Transferred" && mine(e)) finish(c, e);
  }
  render();
}

const pendingIvr = new Map();   // call id -> IVR digits heard before the call reached this agent
const seen = new Map();         // call id -> {calling, called, data} of recent calls (for the pop)
const done = new Set();         // calls this device has left (transferred, cleared)
function rememberCaller(e) {
  if (e.type === "DigitsDialed" && !e.sent) {
    pendingIvr.set(e.call, [...(pendingIvr.get(e.call) || []), `DTMF ${e.digits}`]);
  }
}

function finish(c, e) {
  if (!calls.has(c.call)) return;
  calls.delete(c.call);
  done.add(c.call);
  const end = e.time || Date.now() / 1000;
  const talk = c.answered ? end - c.answered : 0;
  const list = today();
  if (!list.some((x) => x.call === c.call)) {
    list.unshift({ call: c.call, calling: c.calling, start: c.since, talk, notes: c.notes || "" });
    saveToday(list);
  }
  if (lastPop === c.call) lastPop = null;
}

function todayKey() {
  return `cti.today.${me.agent}.${new Date().toISOString().slice(0, 10)}`;
}
function today() {
  try { return JSON.parse(localStorage.getItem(todayKey()) || "[]"); } catch { return []; }
}
function saveToday(list) {
  localStorage.setItem(todayKey(), JSON.stringify(list.slice(0, 200)));
}

// ---- screen pop ---------------------------------------------------------------------------------
async function pop(c) {
  if (lastPop === c.call) return;
  lastPop = c.call;
  log(`${t("incoming")} ${c.calling} (${c.call})`);
  $("pop-crm").textContent = "…";
  const url = config.crm_url.replace("{calling}", encodeURIComponent(c.calling)).replace("{called}", encodeURIComponent(c.called))
    .replace("{call}", encodeURIComponent(c.call)).replace("{agent}", encodeURIComponent(me.agent));
  try {
    const r = await fetch(url, { headers: { Accept: "application/json" } });
    if (!r.ok) throw new Error(String(r.status));
    c.crm = await r.json();
  } catch {
    c.crm = null;
  }
  render();
}

// ---- rendering ----------------------------------------------------------------------------------
function current() {
  const list = [...calls.values()];
  return list.find((c) => c.state === "alerting") || list.find((c) => c.state === "connected") ||
         list.find((c) => c.state === "hold") || list[0] || null;
}
function active() { return [...calls.values()].find((c) => c.state === "connected") || null; }
function held() { return [...calls.values()].find((c) => c.state === "hold") || null; }

function render() {
  const logged = me.state !== "LoggedOff" && me.agent;
  $("state").className = `state ${me.state}`;
  $("state").textContent = t(me.state);
  $("state-reason").textContent = me.reason && me.state === "NotReady" ? `(${t("r_" + me.reason) !== "r_" + me.reason ? t("r_" + me.reason) : me.reason})` : (me.reason ? `(${me.reason})` : "");
  $("acw").hidden = me.state !== "WorkingAfterCall";
  $("ready").disabled = !logged || me.state === "Ready";
  $("notready").disabled = !logged || me.state === "NotReady";
  $("reason").disabled = !logged;
  $("logoff").disabled = !logged;
  const c = current();
  const a = active(), h = held();
  $("pop").classList.toggle("ringing", !!c && c.state === "alerting");
  $("pop-calling").textContent = c ? c.calling || "-" : "-";
  $("pop-called").textContent = c ? c.called || "-" : "-";
  $("pop-state").textContent = c ? (t(c.state === "hold" ? "hold_state" : c.state) + ` · ${c.call}`) : "-";
  const ivr = c ? [...c.ivr, ...Object.entries(c.data || {}).map(([k, v]) => `${k}=${v}`)] : [];
  $("pop-ivr").textContent = ivr.length ? ivr.join(", ") : "-";
  const crm = $("pop-crm");
  crm.replaceChildren();
  if (c && c.crm) {
    const dl = el("dl", { class: "kv" });
    for (const [k, v] of Object.entries(c.crm)) if (v) dl.append(el("dt", {}, k), el("dd", {}, v));
    crm.append(dl);
  } else crm.textContent = c ? t("noCrm") : "-";
  $("answer").disabled = !(c && c.state === "alerting");
  $("hold").disabled = !a;
  $("retrieve").disabled = !h || !!a;
  $("clear").disabled = !c;
  $("consult").disabled = !a;
  $("transfer").disabled = !(a && h);
  $("conference").disabled = !(a && h);
  $("alternate").disabled = !(a && h);
  $("send-dtmf").disabled = !a;
  $("save-notes").disabled = !c && !today().length;
  renderPreview(logged);
  const tbody = $("today").querySelector("tbody");
  tbody.replaceChildren(...today().map((x) => el("tr", {},
    el("td", {}, new Date(x.start * 1000).toLocaleTimeString()), el("td", {}, x.call), el("td", {}, x.calling),
    el("td", { class: "num" }, fmtDuration(x.talk)), el("td", {}, x.notes || ""))));
}

function renderPreview(logged) {
  $("preview-card").hidden = !preview.campaigns.length && !preview.record;   // no outbound work here
  const sel = $("pv-campaign");
  const names = preview.campaigns.map((k) => k.campaign);
  if ([...sel.options].map((o) => o.value).join() !== names.join()) {
    const was = sel.value;
    sel.replaceChildren(...names.map((n) => el("option", { value: n }, n)));
    if (names.includes(was)) sel.value = was;
  }
  const k = preview.campaigns.find((x) => x.campaign === sel.value);
  $("pv-mode").textContent = k ? t(`mode_${k.mode}`) : (logged ? t("pvNone") : "");
  const r = preview.record;
  sel.disabled = !logged || !names.length || !!r;
  $("pv-next").disabled = !logged || !k || !!r;
  $("pv-dial").disabled = !r || !!r.call;
  $("pv-skip").disabled = !r || !!r.call;
  $("pv-number").textContent = r ? r.number : "-";
  const data = $("pv-data");
  data.replaceChildren();
  if (r && Object.keys(r.data || {}).length) {
    const dl = el("dl", { class: "kv" });
    for (const [key, v] of Object.entries(r.data)) dl.append(el("dt", {}, key), el("dd", {}, v));
    data.append(dl);
  } else data.textContent = r ? "" : "-";
}

function tick() {
  const now = Date.now() / 1000;
  $("state-timer").textContent = me.agent && me.state !== "LoggedOff" ? fmtDuration(now - me.since) : "";
  if (me.acwSince) $("acw-timer").textContent = fmtDuration(now - me.acwSince);
}

// ---- actions ------------------------------------------------------------------------------------
async function act(req, what) {
  try {
    const r = await cti.request(req);
    log(`${what || req.type}: ok ${JSON.stringify(r)}`);
    return r;
  } catch (err) {
    log(`${what || req.type}: ${err.code} ${err.message}`, true);
    throw err;
  }
}

async function logon(ev) {
  ev.preventDefault();
  me.agent = $("agent").value.trim();
  me.state = "LoggedOff";
  me.device = $("device").value.trim();
  localStorage.setItem("cti.agent", me.agent);
  localStorage.setItem("cti.device", me.device);
  const token = $("token").value.trim() || sessionStorage.getItem("cti.token") || null;
  if (token) sessionStorage.setItem("cti.token", token);
  if (cti) cti.close();
  cti = new CtiClient({ token, topics: ["call.", "agent.", "queue.", "ivr.", "campaign.", "server."] });
  cti.on("snapshot", onSnapshot).on("event", onEvent)
     .on("status", (s) => { online = s === "open"; $("conn").textContent = t(online ? "online" : "offline"); })
     .on("overflow", (m) => log(`overflow: seqs ${m.first}..${m.last} replayed`, true))
     .on("error", (err) => log(`${err.code}: ${err.message}`, true))
     .on("autherror", (why) => log(`token: ${why}`, true));
  try {
    await cti.connect();
    $("who").textContent = `${me.agent} @ ${me.device}` + (cti.account ? ` (${cti.account.role})` : "");
    if (me.state === "LoggedOff") {
      try {
        await cti.request({ type: "AgentLogon", agent: me.agent, device: me.device });
        log(`AgentLogon: ok`);
      } catch (err) {
        // a server without a contact centre (the plain demo): no agent states, calls at the device only
        if (err.code === "UnknownRequestError") log(t("deviceOnly").replace("{device}", me.device));
        else throw err;
      }
    } else log(`${me.agent}: ${t(me.state)}`);
    onSnapshot(await cti.snapshot());
  } catch (err) {
    log(`${err.code || "error"}: ${err.message}`, true);
  }
  render();
}

function bind() {
  $("logon-form").addEventListener("submit", logon);
  $("logoff").onclick = () => act({ type: "SetAgentState", agent: me.agent, state: "LoggedOff" });
  $("ready").onclick = () => act({ type: "SetAgentState", agent: me.agent, state: "Ready" });
  $("notready").onclick = () => act({ type: "SetAgentState", agent: me.agent, state: "NotReady", reason: $("reason").value });
  $("answer").onclick = () => { const c = current(); if (c) act({ type: "AnswerCall", call: c.call, device: me.device }); };
  $("hold").onclick = () => { const a = active(); if (a) act({ type: "HoldCall", call: a.call, device: me.device }); };
  $("retrieve").onclick = () => { const h = held(); if (h) act({ type: "RetrieveCall", call: h.call, device: me.device }); };
  $("clear").onclick = () => { const c = active() || current(); if (c) act({ type: "ClearConnection", call: c.call, device: me.device }); };
  $("consult").onclick = async () => {
    const a = active(), to = $("consult-number").value.trim();
    if (!a || !to) return;
    const r = await act({ type: "ConsultationCall", call: a.call, called: to, device: me.device });
    const n = callOf(r.call);
    n.calling = me.device; n.called = to; n.state = n.state || "initiated";
    a.state = "hold";
    render();
  };
  $("transfer").onclick = async () => {
    const a = active(), h = held();
    if (!a || !h) return;
    await act({ type: "TransferCall", held_call: h.call, active_call: a.call, device: me.device });
    // this device has left both calls: they go to today's list and later events of theirs are not ours
    for (const c of [h, a]) finish(c, { time: Date.now() / 1000 });
    render();
  };
  $("conference").onclick = () => { const a = active(), h = held(); if (a && h) act({ type: "ConferenceCall", held_call: h.call, active_call: a.call, device: me.device }); };
  $("alternate").onclick = async () => {
    const a = active(), h = held();
    if (!a || !h) return;
    try {
      await cti.request({ type: "AlternateCall", held_call: h.call, active_call: a.call, device: me.device });
      log("AlternateCall: ok");
    } catch (err) {
      if (err.code !== "UnknownRequestError") { log(`AlternateCall: ${err.code} ${err.message}`, true); return; }
      await act({ type: "HoldCall", call: a.call, device: me.device }, "Alternate (hold)");
      await act({ type: "RetrieveCall", call: h.call, device: me.device }, "Alternate (retrieve)");
    }
  };
  $("send-dtmf").onclick = () => { const a = active(), d = $("dtmf").value.trim(); if (a && d) act({ type: "SendDigits", call: a.call, digits: d, device: me.device }); };
  $("save-notes").onclick = async () => {
    const notes = $("notes").value;
    const c = current();
    const list = today();
    const target = c ? c.call : (list[0] && list[0].call);
    if (!target) return;
    if (c) c.notes = notes;
    const row = list.find((x) => x.call === target);
    if (row) { row.notes = notes; saveToday(list); }
    try {
      await act({ type: "UpdateUserData", call: target, data: { notes } }, "UpdateUserData");
      log(t("saved"));
    } catch { /* logged */ }
    render();
  };
  $("pv-next").onclick = async () => {
    const campaign = $("pv-campaign").value;
    if (!campaign) return;
    try { preview.record = await act({ type: "PreviewNext", campaign, agent: me.agent }); } catch { /* logged */ }
    render();
  };
  $("pv-skip").onclick = async () => {
    const r = preview.record;
    if (!r) return;
    try { await act({ type: "PreviewSkip", campaign: r.campaign, attempt: r.attempt }); preview.record = null; } catch { /* logged */ }
    render();
  };
  $("pv-dial").onclick = async () => {
    const r = preview.record;
    if (!r) return;
    try {
      const got = await act({ type: "PreviewDial", campaign: r.campaign, attempt: r.attempt });
      const c = callOf(got.call);
      c.called = c.called || r.number;
      c.data = { ...r.data, ...(c.data || {}) };
      c.crm = r.data;
      c.state = c.state || "initiated";
      preview.record = null;
      log(`${t("outbound")} ${r.number} (${got.call})`);
    } catch { /* logged */ }
    render();
  };
  $("lang").onclick = () => setLang(lang === "zh" ? "en" : "zh");
}

async function init() {
  try { config = await (await fetch("/config.json")).json(); } catch { /* defaults */ }
  if (config.warning) $("warning").hidden = false;
  $("token-label").hidden = config.mode !== "token";
  $("agent").value = qs.get("agent") || localStorage.getItem("cti.agent") || "";
  $("device").value = qs.get("device") || localStorage.getItem("cti.device") || "";
  bind();
  setLang(lang);
  setInterval(tick, 500);
  window.ctiDesktop = { me, calls, preview, get client() { return cti; } };   // for tests and the console
}

init();
