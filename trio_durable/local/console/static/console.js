// The trio-durable web console: a view over the service's HTTP API (the routes
// boto3 uses, plus GET /local/...). Plain JavaScript, no build step, no framework.
// Pages: #/ (executions) and #/execution/<arn>. Both poll the service while shown.
"use strict";

const POLL_MS = 1000;
const PAGE = 100;               // executions per list page
const SHOWN_CHILDREN = 200;     // operations shown per tree level before "show more"
const SHOWN_EVENTS = 500;       // raw events shown before "show more"
const COLLAPSE_BYTES = 2000;    // payloads longer than this start collapsed
const TERMINAL = new Set(["SUCCEEDED", "FAILED", "TIMED_OUT", "STOPPED"]);
const STATUSES = ["RUNNING", "PAUSING", "PAUSED", "SUCCEEDED", "FAILED", "TIMED_OUT", "STOPPED"];

// --- helpers -----------------------------------------------------------------------

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else el.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

class ApiError extends Error {}

async function api(path, { method = "GET", body, headers = {} } = {}) {
  const response = await fetch(path, { method, body, headers });
  const text = await response.text();
  if (!response.ok) {
    let message = text;
    try { message = JSON.parse(text).message || text; } catch (_) { /* not JSON */ }
    const type = response.headers.get("x-amzn-errortype") || `HTTP ${response.status}`;
    throw new ApiError(`${type}: ${message}`);
  }
  return { data: text ? safeParse(text) : null, headers: response.headers };
}

function safeParse(text) {
  try { return JSON.parse(text); } catch (_) { return text; }
}

const enc = encodeURIComponent;
const executionPath = (arn) => `/2025-12-01/durable-executions/${enc(arn)}`;
const functionOf = (functionArn) => (functionArn || "").split(":function:")[1]?.split(":")[0] || "?";

function clock(ts) {
  if (ts === undefined || ts === null) return "";
  const d = new Date(ts * 1000);
  const pad = (n, w = 2) => String(n).padStart(w, "0");
  const time = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
  const today = new Date().toDateString() === d.toDateString();
  return today ? time : `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${time}`;
}

function duration(seconds) {
  if (seconds === undefined || seconds === null || Number.isNaN(seconds)) return "";
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 60) return `${seconds.toFixed(2)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} m ${Math.round(seconds % 60)} s`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ${Math.round((seconds % 3600) / 60)} m`;
  return `${Math.floor(seconds / 86400)} d ${Math.round((seconds % 86400) / 3600)} h`;
}

function badge(status) {
  return h("span", { class: `badge s-${status}`, "data-status": status }, status);
}

// Pretty JSON for a payload given as JSON text; collapsed when large.
function payloadView(text, label) {
  if (text === undefined || text === null) return h("span", { class: "muted" }, "none");
  let pretty = text;
  try { pretty = JSON.stringify(JSON.parse(text), null, 2); } catch (_) { /* shown as text */ }
  const block = h("pre", { class: "json-block" }, pretty);
  if (text.length <= COLLAPSE_BYTES) return block;
  return h("details", { class: "collapsed" },
    h("summary", {}, `${label || "payload"}: ${text.length.toLocaleString()} bytes (show)`), block);
}

function errorView(error) {
  if (!error) return null;
  const trace = error.StackTrace || [];
  return h("div", { class: "error-view" },
    h("div", { class: "error" }, h("b", {}, error.ErrorType || "Error"), ": ", error.ErrorMessage || ""),
    error.ErrorData ? h("div", {}, h("span", { class: "muted" }, "data "), payloadView(error.ErrorData, "data")) : null,
    trace.length ? h("details", { open: true }, h("summary", {}, "stack trace"),
      h("pre", { class: "json-block" }, trace.join("\n"))) : null);
}

function flash(container, message, ok = false) {
  container.replaceChildren(h("div", { class: ok ? "flash ok" : "flash" }, message));
}

function setLive(on) {
  document.getElementById("live").className = on ? "live" : "live off";
  document.getElementById("live").textContent = on ? "live" : "service unreachable";
}

// --- router ------------------------------------------------------------------------

let current = null; // the page shown: { stop() }

function route() {
  if (current) current.stop();
  const app = document.getElementById("app");
  const hash = decodeURIComponent(location.hash.slice(1) || "/");
  if (hash.startsWith("/execution/")) current = executionPage(app, hash.slice("/execution/".length));
  else current = listPage(app);
}

function poller(fn) {
  let timer = null;
  let stopped = false;
  const tick = async () => {
    timer = null;
    try { await fn(); setLive(true); } catch (err) {
      if (!(err instanceof ApiError)) setLive(false);
    }
    if (!stopped) timer = setTimeout(tick, POLL_MS);
  };
  tick();
  return { stop() { stopped = true; if (timer) clearTimeout(timer); }, now() { if (timer) { clearTimeout(timer); tick(); } } };
}

// --- executions list ---------------------------------------------------------------

const listState = { status: "", fn: "", search: "", pages: 1 };

function listPage(app) {
  document.getElementById("where").textContent = "executions";
  const messages = h("div");
  const functionSelect = h("select", { id: "filter-function", onchange: (e) => { listState.fn = e.target.value; poll.now(); } },
    h("option", { value: "" }, "all functions"));
  const statusSelect = h("select", { id: "filter-status", onchange: (e) => { listState.status = e.target.value; poll.now(); } },
    h("option", { value: "" }, "any status"), STATUSES.map((s) => h("option", { value: s }, s)));
  statusSelect.value = listState.status;
  const search = h("input", { id: "filter-name", type: "search", placeholder: "search by name", value: listState.search,
    oninput: (e) => { listState.search = e.target.value; poll.now(); } });
  const count = h("span", { class: "muted", id: "count" });
  const body = h("tbody", { id: "executions" });
  const more = h("button", { class: "more", id: "more", onclick: () => { listState.pages += 1; poll.now(); } }, "show more");
  more.hidden = true;
  const startForm = startPanel(messages);
  app.replaceChildren(
    h("div", { class: "row" }, h("h1", { class: "grow" }, "Executions"), startForm.toggle),
    messages, startForm.panel,
    h("div", { class: "panel" },
      h("div", { class: "row" }, functionSelect, statusSelect, search, h("span", { class: "grow" }), count),
      h("table", {}, h("thead", {}, h("tr", {}, ["Name", "Function", "Status", "Started", "Ended", "Duration"].map((t) => h("th", {}, t)))), body),
      more));
  let lastKey = "";
  let functionsKey = "";
  const poll = poller(async () => {
    const fns = (await api("/local/functions")).data.Functions;
    const key = JSON.stringify(fns);
    if (key !== functionsKey) {
      functionsKey = key;
      functionSelect.replaceChildren(h("option", { value: "" }, "all functions"),
        ...fns.map((f) => h("option", { value: f.FunctionName }, f.FunctionName)));
      functionSelect.value = listState.fn;
      startForm.setFunctions(fns.filter((f) => f.Registered).map((f) => f.FunctionName));
    }
    // The newest PAGE * pages matches, read in pages of at most 1,000.
    const want = PAGE * listState.pages;
    const page = { DurableExecutions: [], Count: 0 };
    let marker = "";
    while (page.DurableExecutions.length < want) {
      const query = new URLSearchParams({ MaxItems: String(Math.min(1000, want - page.DurableExecutions.length)) });
      if (marker) query.set("Marker", marker);
      if (listState.fn) query.set("FunctionName", listState.fn);
      if (listState.status) query.set("Statuses", listState.status);
      if (listState.search) query.set("NameContains", listState.search);
      const part = (await api(`/local/executions?${query}`)).data;
      page.DurableExecutions.push(...part.DurableExecutions);
      page.Count = part.Count;
      marker = part.NextMarker;
      if (!marker) break;
    }
    const pageKey = JSON.stringify(page) + Math.floor(Date.now() / 1000);
    if (pageKey === lastKey) return;
    lastKey = pageKey;
    const now = Date.now() / 1000;
    body.replaceChildren(...page.DurableExecutions.map((ex) => h("tr", { "data-arn": ex.DurableExecutionArn },
      h("td", {}, h("a", { href: `#/execution/${enc(ex.DurableExecutionArn)}` }, ex.DurableExecutionName)),
      h("td", {}, functionOf(ex.FunctionArn)),
      h("td", {}, badge(ex.Status)),
      h("td", {}, clock(ex.StartTimestamp)),
      h("td", {}, clock(ex.EndTimestamp)),
      h("td", {}, duration((ex.EndTimestamp ?? now) - ex.StartTimestamp)))));
    if (!page.DurableExecutions.length) body.replaceChildren(h("tr", {}, h("td", { colspan: 6, class: "muted" }, "No executions match.")));
    count.textContent = `${page.DurableExecutions.length} of ${page.Count.toLocaleString()} execution${page.Count === 1 ? "" : "s"}`;
    more.hidden = page.DurableExecutions.length >= page.Count;
  });
  return poll;
}

// Start an execution of a function with JSON input (an asynchronous Invoke).
async function startExecution(fn, input, name) {
  const headers = { "X-Amz-Invocation-Type": "Event", "Content-Type": "application/json" };
  if (name) headers["X-Amz-Durable-Execution-Name"] = name;
  const out = await api(`/2015-03-31/functions/${enc(fn)}/invocations`, { method: "POST", body: input, headers });
  return out.headers.get("x-amz-durable-execution-arn");
}

function startPanel(messages) {
  const fnSelect = h("select", { id: "start-function" });
  const input = h("textarea", { id: "start-input", rows: 4 }, "{}");
  const name = h("input", { id: "start-name", placeholder: "execution name (optional)" });
  const panel = h("div", { class: "panel", id: "start-panel" },
    h("div", { class: "row" }, h("b", {}, "Start an execution of"), fnSelect, name),
    h("div", { style: "margin: 8px 0" }, input),
    h("button", { class: "primary", id: "start-submit", onclick: async () => {
      try { JSON.parse(input.value); } catch (err) { flash(messages, `The input is not JSON: ${err.message}`); return; }
      try {
        const arn = await startExecution(fnSelect.value, input.value, name.value.trim());
        location.hash = `#/execution/${enc(arn)}`;
      } catch (err) { flash(messages, err.message); }
    } }, "Start"));
  panel.hidden = true;
  const toggle = h("button", { id: "start-open", onclick: () => { panel.hidden = !panel.hidden; } }, "Start execution");
  return {
    panel, toggle,
    setFunctions(names) {
      const chosen = fnSelect.value;
      fnSelect.replaceChildren(...names.map((n) => h("option", { value: n }, n)));
      if (names.includes(chosen)) fnSelect.value = chosen;
      toggle.disabled = !names.length;
    },
  };
}

// --- one execution: reading the history into operations -----------------------------

const KINDS = [["ChainedInvoke", "invoke"], ["Execution", "execution"], ["Invocation", "invocation"],
  ["Context", "context"], ["Callback", "callback"], ["Step", "step"], ["Wait", "wait"]];

function splitType(eventType) {
  for (const [prefix, kind] of KINDS) {
    if (eventType.startsWith(prefix)) return [kind, eventType.slice(prefix.length)];
  }
  return [eventType, ""];
}

const PHASE_STATUS = { Started: "STARTED", Succeeded: "SUCCEEDED", Failed: "FAILED", TimedOut: "TIMED_OUT",
  Stopped: "STOPPED", Cancelled: "CANCELLED" };

// Operations (by id, in order of first appearance) and invocations, from events.
class Model {
  constructor() { this.events = []; this.ops = new Map(); this.roots = []; this.invocations = []; }

  add(events) {
    for (const ev of events) { this.events.push(ev); this.apply(ev); }
  }

  apply(ev) {
    const type = ev.EventType;
    const details = ev[`${type}Details`] || {};
    if (type === "InvocationCompleted") {
      this.invocations.push({ n: this.invocations.length + 1, start: details.StartTimestamp, end: details.EndTimestamp,
        error: details.Error?.Payload, requestId: details.RequestId });
      return;
    }
    if (!ev.Id || type.startsWith("Execution")) return;
    const [kind, phase] = splitType(type);
    let op = this.ops.get(ev.Id);
    if (!op) {
      op = { id: ev.Id, name: ev.Name, kind, subType: ev.SubType, parentId: ev.ParentId, status: "STARTED",
        start: ev.EventTimestamp, end: null, attempts: 0, retries: [], events: [], children: [], result: undefined, error: null };
      this.ops.set(ev.Id, op);
      const parent = ev.ParentId && this.ops.get(ev.ParentId);
      if (parent) parent.children.push(op); else this.roots.push(op);
    }
    op.events.push(ev);
    if (details.CallbackId) op.callbackId = details.CallbackId;
    if (details.Duration !== undefined) op.waitSeconds = details.Duration;
    if (details.Input?.Payload !== undefined) op.input = details.Input.Payload;
    if (details.RetryDetails) op.attempts = Math.max(op.attempts, details.RetryDetails.CurrentAttempt || 0);
    if (details.Result?.Payload !== undefined) op.result = details.Result.Payload;
    if (details.Error?.Payload) op.error = details.Error.Payload;
    if (phase === "Failed" && details.RetryDetails?.NextAttemptDelaySeconds !== undefined) {
      op.retries.push({ at: ev.EventTimestamp, attempt: details.RetryDetails.CurrentAttempt, error: details.Error?.Payload,
        delay: details.RetryDetails.NextAttemptDelaySeconds });
      op.status = "PENDING";
      op.error = null;
      return;
    }
    if (phase === "Started") op.status = "STARTED"; // a retried step's next attempt
    else if (PHASE_STATUS[phase]) { op.status = PHASE_STATUS[phase]; op.end = ev.EventTimestamp; }
  }

  // The invocation that was running at ts (by its start and end), or null.
  invocationAt(ts) {
    for (const inv of this.invocations) if (inv.start <= ts + 1e-6 && ts <= inv.end + 1e-6) return inv;
    return null;
  }
}

// The item index of a map or parallel branch: the number its name ends with.
function branchIndex(op) {
  if (op.subType !== "MapIteration" && op.subType !== "ParallelBranch") return null;
  const match = /(\d+)$/.exec(op.name || "");
  return match ? Number(match[1]) : null;
}

function childrenInOrder(op) {
  if (op.subType !== "Map" && op.subType !== "Parallel") return op.children;
  return [...op.children].sort((a, b) => (branchIndex(a) ?? 1e12) - (branchIndex(b) ?? 1e12));
}

function kindLabel(op) {
  if (op.subType === "MapIteration") return `item ${branchIndex(op) ?? "?"}`;
  if (op.subType === "ParallelBranch") return `branch ${branchIndex(op) ?? "?"}`;
  const sub = { Map: "map", Parallel: "parallel", WaitForCallback: "wait_for_callback", RunInChildContext: "child context",
    WaitForCondition: "wait_for_condition", ChainedInvoke: "invoke" }[op.subType];
  return sub || (op.kind === "context" ? "child context" : op.kind);
}

// --- one execution: the page -------------------------------------------------------

function executionPage(app, arn) {
  const ui = { tab: "tree", selected: null, expanded: new Set(), shown: new Map(), eventsShown: SHOWN_EVENTS, drafts: new Map() };
  const model = new Model();
  let execution = null;
  let logs = [];
  let signature = "";
  const messages = h("div", { id: "messages" });
  const root = h("div");
  app.replaceChildren(h("p", {}, h("a", { href: "#/" }, "\u2190 executions")), messages, root);
  document.getElementById("where").textContent = "execution";

  const render = () => root.replaceChildren(...executionView(execution, model, logs, ui, actions).flat(Infinity).filter(Boolean));
  const act = async (label, fn) => {
    try { await fn(); flash(messages, `${label}: done`, true); poll.now(); } catch (err) { flash(messages, `${label}: ${err.message}`); }
  };
  const actions = {
    render,
    stop: () => act("stop", () => api(`${executionPath(arn)}/stop`, { method: "POST", body: JSON.stringify({ ErrorMessage: "stopped from the console" }) })),
    pause: () => act("pause", () => api(`${executionPath(arn)}/pause`, { method: "POST", body: JSON.stringify({ Reason: "paused from the console" }) })),
    resume: () => act("resume", () => api(`${executionPath(arn)}/resume`, { method: "POST", body: JSON.stringify({ Reason: "resumed from the console" }) })),
    remove: () => {
      if (!confirm("Delete this execution and its history?")) return;
      api(executionPath(arn), { method: "DELETE" }).then(() => { location.hash = "#/"; }, (err) => flash(messages, `delete: ${err.message}`));
    },
    rerun: async () => {
      try {
        const fresh = await startExecution(functionOf(execution.FunctionArn), execution.InputPayload ?? "{}", "");
        location.hash = `#/execution/${enc(fresh)}`;
      } catch (err) { flash(messages, `run again: ${err.message}`); }
    },
    callback: (id, action, body) => act(`callback ${action}`, () =>
      api(`/2025-12-01/durable-execution-callbacks/${enc(id)}/${action}`, { method: "POST", body })),
  };

  const poll = poller(async () => {
    try {
      execution = (await api(`${executionPath(arn)}?IncludeExecutionData=true`)).data;
    } catch (err) {
      if (err instanceof ApiError && !execution) flash(messages, err.message);
      throw err;
    }
    // The service's history markers are offsets, so a poll reads only new events.
    let marker = String(model.events.length);
    for (;;) {
      const page = (await api(`${executionPath(arn)}/history?IncludeExecutionData=true&MaxItems=1000&Marker=${marker}`)).data;
      model.add(page.Events);
      if (!page.NextMarker) break;
      marker = page.NextMarker;
    }
    logs = (await api(`/local/executions/${enc(arn)}/logs`)).data.Records;
    const next = `${execution.Status}|${model.events.length}|${logs.length}`;
    if (next !== signature) {
      signature = next;
      render();
    } else if (!execution.EndTimestamp) {
      // Only the running execution's duration moved: update it in place.
      const shown = document.getElementById("execution-duration");
      if (shown) shown.textContent = duration(Date.now() / 1000 - execution.StartTimestamp);
    }
  });
  return poll;
}

function executionView(ex, model, logs, ui, actions) {
  const status = ex.Status;
  const now = Date.now() / 1000;
  const running = !TERMINAL.has(status);
  const buttons = h("div", { class: "row" },
    h("button", { id: "action-stop", class: "danger", disabled: !running, onclick: actions.stop }, "Stop"),
    h("button", { id: "action-pause", disabled: status !== "RUNNING", onclick: actions.pause }, "Pause"),
    h("button", { id: "action-resume", disabled: status !== "PAUSED" && status !== "PAUSING", onclick: actions.resume }, "Resume"),
    h("button", { id: "action-rerun", onclick: actions.rerun }, "Run again"),
    h("button", { id: "action-delete", class: "danger", disabled: running, onclick: actions.remove }, "Delete"));
  const head = h("div", { class: "panel" },
    h("div", { class: "row" }, h("h1", { class: "grow", id: "execution-name" }, ex.DurableExecutionName, " ", badge(status)), buttons),
    h("div", { class: "kv" },
      h("div", {}, "function"), h("div", {}, functionOf(ex.FunctionArn)),
      h("div", {}, "ARN"), h("div", { class: "mono" }, ex.DurableExecutionArn),
      h("div", {}, "started"), h("div", {}, clock(ex.StartTimestamp)),
      h("div", {}, "ended"), h("div", {}, clock(ex.EndTimestamp) || "-"),
      h("div", {}, "duration"), h("div", { id: "execution-duration" }, duration((ex.EndTimestamp ?? now) - ex.StartTimestamp)),
      h("div", {}, "invocations"), h("div", {}, String(model.invocations.length)),
      ex.PauseDetails ? [h("div", {}, "paused"), h("div", {}, clock(ex.PauseDetails.PauseRequestTimestamp), " ", ex.PauseDetails.Reason || "")] : null));
  const io = h("div", { class: "row", style: "align-items: stretch" },
    h("div", { class: "panel grow", id: "execution-input" }, h("h2", {}, "Input"), payloadView(ex.InputPayload, "input")),
    h("div", { class: "panel grow", id: "execution-output" },
      h("h2", {}, ex.Error ? "Error" : "Result"),
      ex.Error ? errorView(ex.Error) : (status === "SUCCEEDED" ? payloadView(ex.Result, "result") : h("span", { class: "muted" }, "not yet"))));
  const tabs = [["tree", `Operations (${model.ops.size})`], ["timeline", "Timeline"], ["events", `Events (${model.events.length})`], ["logs", `Logs (${logs.length})`]];
  const tabBar = h("div", { class: "tabs" }, tabs.map(([key, label]) =>
    h("button", { id: `tab-${key}`, class: ui.tab === key ? "on" : "", onclick: () => { ui.tab = key; actions.render(); } }, label)));
  let body;
  if (ui.tab === "tree") body = treeView(model, ui, actions);
  else if (ui.tab === "timeline") body = timelineView(ex, model, now);
  else if (ui.tab === "events") body = eventsView(ex, model, ui, actions);
  else body = logsView(ex, logs);
  return [head, io, tabBar, h("div", { class: "panel", id: `view-${ui.tab}` }, body)];
}

function treeView(model, ui, actions) {
  if (!model.roots.length) return h("p", { class: "muted" }, "No operations yet.");
  return h("ul", { class: "tree root", id: "tree" }, levelView(model.roots, "", model, ui, actions));
}

function levelView(ops, parentKey, model, ui, actions) {
  const limit = ui.shown.get(parentKey) || SHOWN_CHILDREN;
  const items = ops.slice(0, limit).map((op) => opView(op, model, ui, actions));
  if (ops.length > limit) {
    items.push(h("li", {}, h("button", { class: "more", onclick: () => { ui.shown.set(parentKey, limit + SHOWN_CHILDREN * 5); actions.render(); } },
      `show ${Math.min(ops.length - limit, SHOWN_CHILDREN * 5)} more of ${ops.length - limit} remaining`)));
  }
  return items;
}

function opView(op, model, ui, actions) {
  const open = ui.expanded.has(op.id);
  const hasChildren = op.children.length > 0;
  const end = op.end ?? null;
  const meta = [];
  if (op.attempts > 1 || op.retries.length) meta.push(`attempt ${Math.max(op.attempts, op.retries.length + 1)}`);
  if (end !== null) meta.push(duration(end - op.start));
  if (hasChildren && (op.subType === "Map" || op.subType === "Parallel")) {
    const done = op.children.filter((c) => c.status === "SUCCEEDED").length;
    const failed = op.children.filter((c) => c.status === "FAILED").length;
    meta.push(`${op.children.length} ${op.subType === "Map" ? "items" : "branches"}: ${done} succeeded${failed ? `, ${failed} failed` : ""}`);
  }
  const row = h("div", { class: ui.selected === op.id ? "op sel" : "op", "data-op": op.id, "data-kind": kindLabel(op),
    onclick: () => {
      if (hasChildren) { if (open) ui.expanded.delete(op.id); else ui.expanded.add(op.id); }
      ui.selected = ui.selected === op.id && !hasChildren ? null : op.id;
      actions.render();
    } },
    h("span", { class: "twisty" }, hasChildren ? (open ? "\u25be" : "\u25b8") : ""),
    h("span", { class: "kind" }, kindLabel(op)),
    h("span", { class: "name" }, op.name || op.id.slice(0, 12)),
    badge(op.status),
    h("span", { class: "meta" }, meta.join(" \u00b7 ")));
  return h("li", {}, row,
    ui.selected === op.id ? opDetail(op, model, ui, actions) : null,
    hasChildren && open ? h("ul", { class: "tree" }, levelView(childrenInOrder(op), op.id, model, ui, actions)) : null);
}

function opDetail(op, model, ui, actions) {
  const inv = model.invocationAt(op.start);
  const rows = [
    ["id", h("span", { class: "mono" }, op.id)],
    ["type", `${op.kind}${op.subType ? ` (${op.subType})` : ""}`],
    ["started", `${clock(op.start)}${inv ? ` in invocation #${inv.n}` : ""}`],
    ["ended", clock(op.end) || "-"],
    op.end !== null ? ["duration", duration(op.end - op.start)] : null,
    op.attempts ? ["attempts", String(Math.max(op.attempts, op.retries.length + 1))] : null,
    op.waitSeconds !== undefined ? ["wait", `${op.waitSeconds} s`] : null,
    op.callbackId ? ["callback id", h("span", { class: "mono", id: "callback-id" }, op.callbackId)] : null,
  ].filter(Boolean);
  return h("div", { class: "detail", id: "op-detail" },
    h("div", { class: "kv" }, rows.map(([k, v]) => [h("div", {}, k), h("div", {}, v)])),
    op.input !== undefined ? [h("h2", {}, "Input"), payloadView(op.input, "input")] : null,
    op.result !== undefined ? [h("h2", {}, "Result"), payloadView(op.result, "result")] : null,
    op.error ? [h("h2", {}, "Error"), errorView(op.error)] : null,
    op.retries.length ? [h("h2", {}, "Failed attempts"), op.retries.map((r) =>
      h("div", {}, h("div", { class: "muted" }, `attempt ${r.attempt} at ${clock(r.at)}, retried after ${r.delay} s`), errorView(r.error)))] : null,
    op.kind === "callback" && op.status === "STARTED" ? callbackForm(op, ui, actions) : null);
}

function callbackForm(op, ui, actions) {
  const draft = ui.drafts.get(op.callbackId) || { result: '"approved"', type: "Rejected", message: "" };
  ui.drafts.set(op.callbackId, draft);
  const result = h("textarea", { id: "callback-result", rows: 3, oninput: (e) => { draft.result = e.target.value; } }, draft.result);
  const type = h("input", { id: "callback-error-type", value: draft.type, oninput: (e) => { draft.type = e.target.value; } });
  const message = h("input", { id: "callback-error-message", class: "grow", value: draft.message, placeholder: "error message",
    oninput: (e) => { draft.message = e.target.value; } });
  const id = op.callbackId;
  return h("div", { class: "callback-form" },
    h("h2", {}, "Complete this callback"),
    result,
    h("div", { class: "row", style: "margin: 6px 0 10px" },
      h("button", { class: "primary", id: "callback-succeed", onclick: (e) => {
        e.stopPropagation();
        try { JSON.parse(draft.result); } catch (err) { alert(`The result is not JSON: ${err.message}`); return; }
        actions.callback(id, "succeed", draft.result);
      } }, "Succeed with this JSON"),
      h("button", { id: "callback-heartbeat", onclick: () => actions.callback(id, "heartbeat", "") }, "Heartbeat")),
    h("div", { class: "row" }, type, message,
      h("button", { class: "danger", id: "callback-fail", onclick: () =>
        actions.callback(id, "fail", JSON.stringify({ ErrorType: draft.type, ErrorMessage: draft.message })) }, "Fail")));
}

// Which invocation ran which operations, and where the execution was suspended.
function timelineView(ex, model, now) {
  const start = ex.StartTimestamp;
  const end = ex.EndTimestamp ?? Math.max(now, ...model.invocations.map((i) => i.end));
  const span = Math.max(end - start, 1e-3);
  // Where a bar from a to b sits on its track, in percent; a short bar keeps a
  // visible width and stays inside the track.
  const place = (a, b) => {
    const width = Math.max(((b - a) / span) * 100, 0.3);
    const left = Math.min(Math.max(((a - start) / span) * 100, 0), 100 - width);
    return `left:${left.toFixed(3)}%;width:${width.toFixed(3)}%`;
  };
  const rows = [];
  const invTrack = h("div", { class: "tl-track" });
  model.invocations.forEach((inv, i) => {
    invTrack.append(h("div", { class: inv.error ? "tl-bar FAILED" : "tl-bar inv", style: place(inv.start, inv.end),
      title: `invocation #${inv.n}: ${clock(inv.start)} - ${clock(inv.end)} (${duration(inv.end - inv.start)})${inv.error ? `, crashed: ${inv.error.ErrorType}` : ""}` }, `#${inv.n}`));
    const next = model.invocations[i + 1];
    const gapEnd = next ? next.start : (TERMINAL.has(ex.Status) ? null : end);
    if (gapEnd !== null && gapEnd > inv.end) {
      invTrack.append(h("div", { class: "tl-gap", style: place(inv.end, gapEnd),
        title: `suspended ${duration(gapEnd - inv.end)}` }));
    }
  });
  rows.push(h("div", { class: "tl-row", id: "timeline-invocations" }, h("div", { class: "tl-label" }, h("b", {}, "invocations")), invTrack));
  const limit = 300;
  const flat = [];
  const walk = (ops, depth) => {
    for (const op of ops) {
      if (flat.length >= limit) return;
      flat.push([op, depth]);
      walk(childrenInOrder(op), depth + 1);
    }
  };
  walk(model.roots, 0);
  for (const [op, depth] of flat) {
    const opEnd = op.end ?? end;
    const inv = model.invocationAt(op.start);
    rows.push(h("div", { class: "tl-row" },
      h("div", { class: "tl-label", style: `padding-left:${depth * 12}px`, title: op.name || op.id }, `${kindLabel(op)} ${op.name || ""}`),
      h("div", { class: "tl-track" }, h("div", { class: `tl-bar ${op.status}`, style: place(op.start, opEnd),
        title: `${op.name || op.id}: ${op.status}, ${duration(opEnd - op.start)}${inv ? `, run by invocation #${inv.n}` : ""}` },
        inv ? `#${inv.n}` : ""))));
  }
  return h("div", { class: "timeline", id: "timeline" },
    h("div", { class: "legend" }, `${duration(span)} from start. Dark bars: invocations (numbered); dashes: suspended between invocations; `,
      `each operation's bar is labelled with the invocation that started it.`, model.ops.size > limit ? ` The first ${limit} operations are shown.` : ""),
    rows);
}

function eventsView(ex, model, ui, actions) {
  const shown = model.events.slice(0, ui.eventsShown);
  const table = h("table", { id: "events" },
    h("thead", {}, h("tr", {}, ["#", "at", "type", "name", ""].map((t) => h("th", {}, t)))),
    h("tbody", {}, shown.map((ev) => h("tr", {},
      h("td", {}, String(ev.EventId)),
      h("td", {}, `+${duration(ev.EventTimestamp - ex.StartTimestamp) || "0 ms"}`),
      h("td", {}, ev.EventType),
      h("td", {}, ev.Name || ""),
      h("td", {}, h("details", {}, h("summary", {}, "json"), h("pre", { class: "json-block" }, JSON.stringify(ev, null, 2))))))));
  const more = model.events.length > ui.eventsShown
    ? h("button", { class: "more", onclick: () => { ui.eventsShown += SHOWN_EVENTS * 4; actions.render(); } },
      `show more (${model.events.length - ui.eventsShown} left)`) : null;
  return [table, more];
}

function logsView(ex, logs) {
  if (!logs.length) return h("p", { class: "muted" }, "Nothing logged through ctx.logger (kept in the service's memory while it runs).");
  return h("table", { id: "logs" },
    h("thead", {}, h("tr", {}, ["at", "level", "operation", "message"].map((t) => h("th", {}, t)))),
    h("tbody", {}, logs.map((r) => h("tr", {},
      h("td", {}, `+${duration(r.Timestamp - ex.StartTimestamp) || "0 ms"}`),
      h("td", {}, r.Level),
      h("td", {}, r.OperationName || ""),
      h("td", {}, h("pre", {}, r.Message))))));
}

window.addEventListener("hashchange", route);
route();
