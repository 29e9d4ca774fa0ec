// The supervisor wallboard: per queue waiting calls, longest wait, service level, abandon rate;
// agents by state with time in state; live calls; monitor / whisper / barge (the bus checks rights);
// the media pools (fax and voice channels: in use / size, callers refused) from the snapshot's
// `resources` section, ResourceUsage / ResourceExhausted events and GetStatistics' `resources`.
// Figures are the docs/stats.md formulas as the server computes them (QueueStats, GetStatistics);
// waiting calls and longest wait also move live with the queue events between two QueueStats.
import { CtiClient, applyI18n, el, fmtDuration, fmtPercent, pageLog, setLanguage } from "/static/cti.js";

const I18N = {
  zh: {
    plainWarning: "明文模式：网关不校验令牌，每个浏览器都以开发用集成账户身份操作，只监听本机回环地址。其他场合请使用 --keys（令牌）和 --cert/--key（TLS）。",
    title: "监控墙", myDevice: "班长分机", token: "令牌", connect: "连接", offline: "未连接", online: "已连接",
    queues: "队列", agents: "坐席", agent: "坐席", team: "班组", device: "分机", state: "状态",
    timeInState: "状态时长", callsTaken: "接听数", supervise: "监控", liveCalls: "实时通话", call: "呼叫",
    calling: "主叫", called: "被叫", parties: "参与方", duration: "时长", log: "消息",
    formulas: "服务水平 = 阈值内接听 / 接听 × 100；放弃率 = 放弃 / (接听 + 放弃) × 100；最长等待 = 现在 − 最早排队时刻 (docs/stats.md)",
    waiting: "排队数", longestWait: "最长等待", serviceLevel: "服务水平", serviceLevel2: "服务水平2",
    abandonRate: "放弃率", offered: "呼入", answered: "接听", abandoned: "放弃", averageWait: "平均等待",
    monitor: "监听", whisper: "密语", barge: "强插", stop: "停止",
    LoggedOff: "未签入", NotReady: "示忙", Ready: "就绪", Busy: "通话中", Reserved: "预占",
    WorkingAfterCall: "话后处理", lang: "English", needDevice: "先填写班长分机",
    campaigns: "外呼活动", campaign: "活动", pacing: "外呼模式", dialled: "已拨", connects: "接通坐席",
    abandonVsTarget: "放弃率 / 上限", inFlight: "拨号中", pending: "待拨", campaignAgents: "坐席",
    lastOutcome: "最近结果", noCampaigns: "没有运行中的外呼活动", apply: "切换",
    preview: "预览式", progressive: "渐进式", predictive: "预测式",
    answered_o: "接通", machine: "答录机", busy: "忙", "no-answer": "无人接听", abandoned_o: "放弃",
    "dnc-blocked": "免打扰拦截", congestion: "拥塞", unallocated: "空号", failed: "失败",
    resources: "媒体资源", noResources: "本服务器没有媒体资源（[media]）", pool_fax: "传真通道",
    pool_voice: "语音通道", inUse: "占用 / 总数", refused: "拒绝", peak: "峰值",
    noCentre: "本服务器没有呼叫中心（[contact]）：只显示通话",
  },
  en: {
    title: "Wallboard", myDevice: "My device", token: "Token", connect: "Connect", offline: "offline", online: "online",
    queues: "Queues", agents: "Agents", agent: "Agent", team: "Team", device: "Device", state: "State",
    timeInState: "Time in state", callsTaken: "Calls", supervise: "Supervise", liveCalls: "Live calls", call: "Call",
    calling: "Calling", called: "Called", parties: "Parties", duration: "Duration", log: "Messages",
    formulas: "Service level = answered within T / answered × 100; abandon rate = abandoned / (answered + abandoned) × 100; longest wait = now − entry of the oldest waiting call (docs/stats.md)",
    waiting: "Waiting", longestWait: "Longest wait", serviceLevel: "Service level", serviceLevel2: "SL2",
    abandonRate: "Abandon rate", offered: "Offered", answered: "Answered", abandoned: "Abandoned",
    averageWait: "Average wait", monitor: "Monitor", whisper: "Whisper", barge: "Barge", stop: "Stop",
    LoggedOff: "Logged off", NotReady: "Not ready", Ready: "Ready", Busy: "Busy", Reserved: "Reserved",
    WorkingAfterCall: "After-call work", lang: "中文", needDevice: "enter your device first",
    campaigns: "Outbound campaigns", campaign: "Campaign", pacing: "Pacing", dialled: "Dialled",
    connects: "Connects", abandonVsTarget: "Abandon rate / cap", inFlight: "Dialling", pending: "Pending",
    campaignAgents: "Agents", lastOutcome: "Last outcome", noCampaigns: "no campaign running", apply: "Switch",
    preview: "preview", progressive: "progressive", predictive: "predictive",
    answered_o: "answered", machine: "machine", busy: "busy", "no-answer": "no answer", abandoned_o: "abandoned",
    "dnc-blocked": "DNC-blocked", congestion: "congestion", unallocated: "unallocated", failed: "failed",
    resources: "Media resources", noResources: "no media resources on this server ([media])", pool_fax: "Fax channels",
    pool_voice: "Voice channels", inUse: "in use / size", refused: "refused", peak: "peak",
    noCentre: "no contact centre on this server ([contact]): calls only",
  },
};

const $ = (id) => document.getElementById(id);
const qs = new URLSearchParams(location.search);
let lang = qs.get("lang") || localStorage.getItem("cti.lang") || "zh";
let t = applyI18n(I18N, lang);
let cti = null;
let online = false;
let config = { mode: "plain" };

const queues = new Map();   // name -> {waiting: Map(call -> entered wall s), figures, figuresAt}
const agents = new Map();   // id -> {agent, team, device, state, reason, phase, since (wall s), calls}
const calls = new Map();    // id -> {call, calling, called, parties: Map(device -> state), start}
const campaigns = new Map();  // name -> {campaign, mode, status..., agent_states, last}
const campaignRows = new Map();  // name -> its table row, updated in place (its select keeps the choice)
const MODES = ["preview", "progressive", "predictive"];
const pools = new Map();      // kind (fax, voice) -> {size, busy, free, peak, taken, refused}
let supervising = null;
let noStats = false;
const rows = new Map();    // agent id -> its table row, updated in place

const log = pageLog;

function queueOf(name) {
  if (!queues.has(name)) queues.set(name, { waiting: new Map(), figures: {}, figuresAt: Date.now() / 1000 });
  return queues.get(name);
}

function onSnapshot(snap) {
  const now = Date.now() / 1000;
  for (const q of snap.queues || []) {
    const k = queueOf(q.queue);
    const old = k.waiting;
    k.waiting = new Map((q.waiting || []).map((c) => [c, old.get(c) || null]));
  }
  for (const a of snap.agents || []) {
    const prev = agents.get(a.agent);
    const same = prev && prev.state === a.state;
    agents.set(a.agent, { ...a, since: same ? prev.since : now, sinceModel: same ? prev.sinceModel : a.since,
                          calls: a.calls_taken || 0 });
  }
  for (const c of snap.campaigns || []) {
    const { agents: st, ...rest } = c;
    campaigns.set(c.campaign, { ...(campaigns.get(c.campaign) || {}), ...rest, agent_states: st || {} });
  }
  for (const p of snap.resources || []) pools.set(p.kind, { ...p });
  calls.clear();
  for (const c of snap.calls || []) {
    calls.set(c.call, { call: c.call, calling: c.calling, called: c.called, start: now - (c.answered ? 0 : 0),
                        parties: new Map((c.connections || []).map((x) => [x.device, x.state])) });
  }
  render();
}

function applyStats(result) {
  const now = Date.now() / 1000;
  for (const [name, f] of Object.entries(result.queues || {})) {
    const k = queueOf(name);
    k.figures = f;
    k.figuresAt = now;
  }
  for (const [kind, u] of Object.entries((result.resources || {}).pools || {})) pools.set(kind, { kind, ...u });
  if (result.time !== undefined) {
    for (const a of agents.values()) {
      if (typeof a.sinceModel === "number") a.since = now - Math.max(0, result.time - a.sinceModel);
    }
  }
}

function onEvent(e) {
  const now = e.time || Date.now() / 1000;
  const topic = e.topic || "";
  if (topic.startsWith("agent.")) {
    const a = agents.get(e.agent) || { agent: e.agent, calls: 0 };
    const state = e.type === "AgentBusy" ? "Busy" : e.state;
    if (e.type === "AgentWorkingAfterCall" && a.state === "Busy") a.calls = (a.calls || 0) + 1;
    Object.assign(a, { team: e.team || a.team, device: e.device || a.device, state, reason: e.reason, phase: e.phase, since: now, call: e.call });
    delete a.sinceModel;
    if (e.type === "AgentLoggedOff") a.state = "LoggedOff";
    agents.set(e.agent, a);
  } else if (topic.startsWith("queue.")) {
    if (e.type === "QueueStats") {
      const k = queueOf(e.queue);
      k.figures = e.figures || {};
      k.figuresAt = now;
    } else if (e.type === "CallQueued") {
      queueOf(e.queue).waiting.set(e.call, now);
    } else if (["Connected", "Abandoned", "CallDiverted"].includes(e.type)) {
      queueOf(e.queue).waiting.delete(e.call);
    }
  } else if (topic.startsWith("campaign.")) {
    const k = campaigns.get(e.campaign) || { campaign: e.campaign };
    if (e.type === "CampaignStatus") Object.assign(k, e.status || {}, { mode: e.mode, agent_states: e.agent_states || {} });
    else if (e.type === "CampaignProgress") k.last = `${e.number} ${t(["answered", "abandoned"].includes(e.outcome) ? e.outcome + "_o" : e.outcome)}`;
    campaigns.set(e.campaign, k);
  } else if (topic === "media.pool") {
    if (e.type === "ResourceUsage") {
      for (const [kind, u] of Object.entries(e.pools || {})) pools.set(kind, { kind, ...u });
    } else if (e.type === "ResourceExhausted") {   // counted now; the next ResourceUsage has the server's figure
      const p = pools.get(e.kind) || { kind: e.kind, size: e.size, busy: e.size, refused: 0 };
      p.refused = (p.refused || 0) + 1;
      pools.set(e.kind, p);
    }
  } else if (topic.startsWith("call.")) {
    let c = calls.get(e.call);
    if (!c) { c = { call: e.call, calling: e.calling, called: e.called, start: now, parties: new Map() }; calls.set(e.call, c); }
    c.calling = e.calling || c.calling;
    c.called = e.called || c.called;
    if (e.device) {
      if (e.state === "null") c.parties.delete(e.device); else c.parties.set(e.device, e.state);
    }
    if (e.type === "CallCleared") {
      calls.delete(e.call);
      for (const q of queues.values()) q.waiting.delete(e.call);
    }
  }
  scheduleRender();
}

let renderQueued = false;
function scheduleRender() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => { renderQueued = false; render(); });
}

function tile(label, value, alert = false, id = null) {
  return el("div", { class: "tile" + (alert ? " alert" : ""), "data-figure": id }, el("div", { class: "v" }, value), el("div", { class: "k" }, label));
}

function render() {
  const now = Date.now() / 1000;
  const qbox = $("queue-tiles");
  qbox.replaceChildren(...[...queues.entries()].sort().map(([name, q]) => {
    const f = q.figures || {};
    const entries = [...q.waiting.values()].filter((x) => x !== null);
    const live = q.waiting.size;
    let longest = entries.length ? now - Math.min(...entries) : null;
    if (f.longest_wait !== undefined && f.longest_wait !== null && live > 0) {
      const fromStats = f.longest_wait + (now - q.figuresAt);
      longest = longest === null ? fromStats : Math.max(longest, Math.min(fromStats, longest + 5));
    }
    if (live === 0) longest = null;
    return el("div", { class: "queue", "data-queue": name },
      el("h3", { style: "margin:6px 0 4px;font-size:14px" }, name),
      el("div", { class: "tiles" },
        tile(t("waiting"), String(live), live > 0, "waiting"),
        tile(t("longestWait"), fmtDuration(longest), longest !== null && longest > (f.threshold || 20), "longest_wait"),
        tile(t("serviceLevel"), fmtPercent(f.service_level), f.service_level !== null && f.service_level < 80, "service_level"),
        tile(t("serviceLevel2"), fmtPercent(f.service_level_2), false, "service_level_2"),
        tile(t("abandonRate"), fmtPercent(f.abandon_rate), f.abandon_rate > 10, "abandon_rate"),
        tile(t("offered"), String(f.offered ?? "-"), false, "offered"),
        tile(t("answered"), String(f.answered ?? "-"), false, "answered"),
        tile(t("abandoned"), String(f.abandoned ?? "-"), false, "abandoned"),
        tile(t("averageWait"), fmtDuration(f.average_wait), false, "average_wait")));
  }));
  const byState = {};
  for (const a of agents.values()) byState[a.state] = (byState[a.state] || 0) + 1;
  $("agent-counts").replaceChildren(...["Ready", "Busy", "WorkingAfterCall", "NotReady", "LoggedOff"].map(
    (s) => tile(t(s), String(byState[s] || 0), false, `agents_${s}`)));
  const role = cti && cti.account ? cti.account.role : (config.mode === "plain" ? "integrator" : null);
  const mayWatch = role === "supervisor" || role === "integrator";
  // rows are kept and updated in place: a button under the pointer is never replaced mid-click
  const tbody = $("agents").querySelector("tbody");
  const sorted = [...agents.values()].sort((a, b) => a.agent.localeCompare(b.agent));
  for (const a of sorted) {
    let row = rows.get(a.agent);
    if (!row) {
      const btn = (mode) => el("button", { type: "button", class: `sup-${mode}`, "data-agent": a.agent,
                                           onclick: () => supervise(a.agent, mode) }, "");
      const stop = el("button", { type: "button", class: "stop sup-stop", "data-agent": a.agent, onclick: stopSupervising }, "");
      row = { tr: el("tr", { "data-agent": a.agent }), cells: [0, 1, 2, 3, 4, 5].map(() => el("td")),
              state: el("span"), note: el("span", { class: "mute" }), buttons: ["monitor", "whisper", "barge"].map(btn), stop };
      row.cells[3].append(row.state, " ", row.note);
      row.cells[4].className = row.cells[5].className = "num";
      row.tr.append(...row.cells, el("td", {}, ...row.buttons, row.stop));
      rows.set(a.agent, row);
    }
    row.cells[0].textContent = a.agent;
    row.cells[1].textContent = a.team || "";
    row.cells[2].textContent = a.device || "";
    row.state.className = `state ${a.state}`;
    row.state.textContent = t(a.state);
    row.note.textContent = a.reason || a.phase || "";
    row.cells[4].textContent = fmtDuration(now - (a.since || now));
    row.cells[5].textContent = String(a.calls || 0);
    row.buttons.forEach((b, i) => {
      b.textContent = t(["monitor", "whisper", "barge"][i]);
      b.disabled = !mayWatch || a.state !== "Busy";
      b.title = mayWatch ? "" : "supervisor rights needed";
    });
    row.stop.textContent = t("stop");
    row.stop.hidden = !(supervising && supervising.agent === a.agent);
    if (row.tr.parentNode !== tbody || tbody.children[sorted.indexOf(a)] !== row.tr) tbody.append(row.tr);
  }
  renderCampaigns(mayWatch);
  renderPools();
  $("calls").querySelector("tbody").replaceChildren(...[...calls.values()].map((c) => el("tr", { "data-call": c.call },
    el("td", {}, c.call), el("td", {}, c.calling || ""), el("td", {}, c.called || ""),
    el("td", {}, [...c.parties.entries()].map(([d, s]) => `${d}:${s}`).join("  ")),
    el("td", { class: "num" }, fmtDuration(now - c.start)))));
}

function renderCampaigns(mayPace) {
  const tbody = $("campaigns").querySelector("tbody");
  $("no-campaigns").hidden = campaigns.size > 0;
  for (const k of [...campaigns.values()].sort((a, b) => a.campaign.localeCompare(b.campaign))) {
    let row = campaignRows.get(k.campaign);
    if (!row) {
      const select = el("select", { class: "cp-mode", "data-campaign": k.campaign },
                        ...MODES.map((m) => el("option", { value: m }, "")));
      select.value = k.mode;
      const apply = el("button", { type: "button", class: "cp-apply", "data-campaign": k.campaign,
                                   onclick: () => setMode(k.campaign, select.value) }, "");
      row = { tr: el("tr", { "data-campaign": k.campaign }), cells: [0, 1, 2, 3, 4, 5, 6, 7, 8].map(() => el("td")),
              mode: el("span", { class: "cp-current" }), select, apply, shown: k.mode };
      row.cells[1].append(row.mode, " ", select, apply);
      for (const i of [2, 3, 4, 5, 6]) row.cells[i].className = "num";
      row.tr.append(...row.cells);
      campaignRows.set(k.campaign, row);
      tbody.append(row.tr);
    }
    if (row.shown !== k.mode) { row.select.value = k.mode; row.shown = k.mode; }   // a switch made elsewhere
    row.cells[0].textContent = k.campaign + (k.halted ? ` ⚠ ${k.halted}` : "");
    row.mode.textContent = t(k.mode || "-");
    row.mode.dataset.mode = k.mode || "";
    [...row.select.options].forEach((o) => { o.textContent = t(o.value); });
    row.select.disabled = row.apply.disabled = !mayPace;
    row.apply.textContent = t("apply");
    row.cells[2].textContent = String(k.dialled ?? "-");
    row.cells[3].textContent = String(k.connects ?? "-");
    const rate = typeof k.abandon_rate === "number" ? k.abandon_rate * 100 : null;
    const cap = typeof k.target === "number" ? k.target * 100 : null;
    row.cells[4].textContent = `${rate === null ? "-" : rate.toFixed(1) + " %"} / ${cap === null ? "-" : cap.toFixed(1) + " %"}`;
    row.cells[4].classList.toggle("over", rate !== null && cap !== null && rate > cap);
    row.cells[5].textContent = String((k.dialling ?? 0) + (k.waiting_agent ?? 0));
    row.cells[6].textContent = String(k.pending ?? "-");
    row.cells[7].textContent = Object.entries(k.agent_states || {}).map(([s, n]) => `${t(s)} ${n}`).join(" · ") || "-";
    row.cells[8].textContent = k.last || "";
  }
}

function renderPools() {
  $("no-resources").hidden = pools.size > 0;
  $("resource-tiles").replaceChildren(...[...pools.values()].sort((a, b) => a.kind.localeCompare(b.kind)).map((p) => {
    const full = p.size > 0 && p.busy >= p.size;
    const name = t("pool_" + p.kind) === "pool_" + p.kind ? p.kind : t("pool_" + p.kind);
    return el("div", { class: "pool", "data-pool": p.kind, style: "display:contents" },
      tile(`${name} · ${t("inUse")}`,
           `${p.busy ?? "-"} / ${p.size ?? "-"}`, full, `${p.kind}_in_use`),
      tile(`${name} · ${t("refused")}`,
           String(p.refused ?? 0), (p.refused || 0) > 0, `${p.kind}_refused`),
      tile(`${name} · ${t("peak")}`,
           String(p.peak ?? "-"), false, `${p.kind}_peak`));
  }));
}

async function setMode(campaign, mode) {
  try {
    await cti.request({ type: "SetCampaignMode", campaign, mode });
    log(`SetCampaignMode ${campaign} ${mode}: ok`);
  } catch (err) {
    log(`SetCampaignMode ${campaign} ${mode}: ${err.code} ${err.message}`, true);
    const k = campaigns.get(campaign);
    const row = campaignRows.get(campaign);
    if (k && row) row.select.value = k.mode;
  }
  render();
}

async function supervise(agent, mode) {
  const device = $("sup-device").value.trim();
  if (!device) { log(t("needDevice"), true); return; }
  try {
    const r = await cti.request({ type: "Monitor", agent, device, mode });
    supervising = { agent, device, mode };
    log(`Monitor ${agent} (${mode}): ok ${JSON.stringify(r)}`);
  } catch (err) {
    log(`Monitor ${agent} (${mode}): ${err.code} ${err.message}`, true);
  }
  render();
}

async function stopSupervising() {
  if (!supervising) return;
  try {
    await cti.request({ type: "StopMonitor", device: supervising.device });
    log(`StopMonitor ${supervising.device}: ok`);
  } catch (err) {
    log(`StopMonitor: ${err.code} ${err.message}`, true);
  }
  supervising = null;
  render();
}

let statsAsked = false;    // a GetStatistics in flight: the timer and a snapshot may both ask

async function refreshStats() {
  if (!cti || !cti.ws || cti.ws.readyState !== 1) return;
  if (noStats || statsAsked) return;
  statsAsked = true;
  try { applyStats(await cti.request({ type: "GetStatistics" })); render(); } catch (err) {
    if (err.code === "UnknownRequestError") {          // a server without a contact centre: calls only
      if (!noStats) log(t("noCentre"));
      noStats = true;
    } else {
      log(`GetStatistics: ${err.code} ${err.message}`, true);
    }
  } finally {
    statsAsked = false;
  }
}

async function connect() {
  const token = $("token").value.trim() || sessionStorage.getItem("cti.token") || null;
  if (token) sessionStorage.setItem("cti.token", token);
  localStorage.setItem("cti.supDevice", $("sup-device").value.trim());
  if (cti) cti.close();
  cti = new CtiClient({ token, topics: ["agent.", "queue.", "call.", "campaign.", "server.", "media.pool"] });
  cti.on("snapshot", onSnapshot).on("event", onEvent)
     .on("status", (s) => { online = s === "open"; $("conn").textContent = t(online ? "online" : "offline"); })
     .on("overflow", (m) => log(`overflow: seqs ${m.first}..${m.last} replayed`, true))
     .on("error", (err) => log(`${err.code}: ${err.message}`, true));
  try {
    await cti.connect();
    $("who").textContent = cti.account ? `${cti.account.name} (${cti.account.role})` : "";
    await refreshStats();
  } catch (err) {
    log(`${err.code || "error"}: ${err.message}`, true);
  }
}

function setLang(l) {
  lang = l;
  t = setLanguage(I18N, lang, config);
  $("conn").textContent = t(online ? "online" : "offline");     // a state, not the label's default
  render();
}

async function init() {
  try { config = await (await fetch("/config.json")).json(); } catch { /* defaults */ }
  if (config.warning) $("warning").hidden = false;
  $("token").hidden = config.mode !== "token";
  $("sup-device").value = qs.get("device") || localStorage.getItem("cti.supDevice") || "";
  $("connect").onclick = connect;
  $("lang").onclick = () => setLang(lang === "zh" ? "en" : "zh");
  setLang(lang);
  setInterval(render, 1000);
  setInterval(refreshStats, 5000);
  window.ctiWallboard = { queues, agents, calls, campaigns, pools, get client() { return cti; } };
  if (config.mode === "plain" || sessionStorage.getItem("cti.token")) connect();
}

init();
