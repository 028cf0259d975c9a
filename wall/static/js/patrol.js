// patrol.js — the patrol page: runs and the manual patrol of their rooms, findings and their
// rectification, plans, and the figures of the period.
//
// Manual patrol is keyboard driven: ← / → (or P / N) step through the run's rooms, 1–9 toggle
// the checklist item of that number between OK and problem, Enter saves the visit (Ctrl+Enter
// inside the note), R switches between live and the last 30 s recorded, Esc goes back. Every
// time is shown in the branch's time zone.

import { applyI18n, getLang, onLangChange, setLang, t } from "./i18n.js";
import { LivePlayer } from "./whep.js";
import { sessionFetch, startPage } from "./session.js";
import { branchDay, dayBefore, formatTime, setZone } from "./clock.js";
import { renderFigures, renderTrend } from "./patrol-figures.js";
import "./patrol-strings.js";

const $ = (id) => document.getElementById(id);
const BASE = "/api/v1/patrol";
const AREAS = ["case_room", "interrogation", "inquiry", "waiting", "property", "handling", "corridor", "other"];

const state = {
  user: null,
  cameras: new Map(),
  run: null,
  index: 0,
  marks: {},
  player: null,
  recorded: false,
};

async function call(method, path, body) {
  const init = { method, headers: {} };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await sessionFetch(path.startsWith("/api/") ? path : `${BASE}${path}`, init);
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (!response.ok) throw new Error((data && data.error) || `HTTP ${response.status}`);
  return data;
}

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = text;
  if (className) node.className = className;
  return node;
}

function button(label, onClick, className) {
  const node = el("button", label, className);
  node.type = "button";
  node.addEventListener("click", onClick);
  return node;
}

function can(permission) {
  return state.user && state.user.permissions.includes(permission);
}

function cameraName(id) {
  const camera = state.cameras.get(id);
  return camera ? `${camera.site_name} · ${camera.name}` : id;
}

function say(text, bad = false) {
  const status = $("patrol-status");
  status.textContent = text;
  status.classList.toggle("bad", bad);
}

// -- tabs -----------------------------------------------------------------------------------

function showTab(name) {
  for (const tab of document.querySelectorAll("[data-tab]")) {
    tab.classList.toggle("active", tab.dataset.tab === name);
  }
  for (const section of document.querySelectorAll(".tab-panel")) {
    section.hidden = section.id !== `tab-${name}`;
  }
  $("manual").hidden = true;
  stopPlayer();
  if (name === "runs") loadRuns();
  if (name === "findings") loadFindings();
  if (name === "plans") loadPlans();
  if (name === "stats") loadStats();
}

// -- runs -----------------------------------------------------------------------------------

async function loadRuns() {
  const [plans, runs] = await Promise.all([call("GET", "/plans"), call("GET", "/runs")]);
  const planList = $("plan-buttons");
  planList.replaceChildren(
    ...plans.data.map((plan) => {
      const item = el("li");
      item.append(el("span", plan.name));
      if (can("patrol_run")) {
        item.append(button(t("patrol.runNow"), async (event) => {
          event.target.disabled = true;
          try {
            const run = await call("POST", `/plans/${plan.id}/runs`, {});
            await openRun(run.id);
          } catch (error) {
            say(error.message, true);
          } finally {
            event.target.disabled = false;
          }
        }, "run-now"));
      }
      return item;
    }),
  );
  const body = $("runs-rows");
  body.replaceChildren(
    ...runs.data.map((run) => {
      const tr = el("tr");
      tr.dataset.runId = run.id;
      const how = t(`patrol.trigger.${run.trigger}`) + (run.late ? t("patrol.late") : "");
      for (const text of [formatTime(run.started), run.plan, how, t(`patrol.state.${run.state}`),
        run.cameras, run.failed_checks, run.findings, run.visited]) {
        tr.append(el("td", String(text)));
      }
      const actions = el("td");
      actions.append(button(run.state === "open" && can("patrol_run") ? t("patrol.open") : t("patrol.report"),
        () => openRun(run.id)));
      tr.append(actions);
      return tr;
    }),
  );
}

// -- manual patrol --------------------------------------------------------------------------

async function openRun(runId) {
  state.run = await call("GET", `/runs/${runId}`);
  state.index = 0;
  for (const section of document.querySelectorAll(".tab-panel")) section.hidden = true;
  $("manual").hidden = false;
  $("manual").dataset.runId = runId;
  showRoom();
}

function currentItem() {
  return state.run.items[state.index];
}

function showRoom() {
  const run = state.run;
  const item = currentItem();
  const camera = state.cameras.get(item.camera);
  $("room-counter").textContent = t("patrol.room", { n: state.index + 1, total: run.items.length });
  $("room-name").textContent = cameraName(item.camera);
  const session = camera && camera.session;
  $("room-session").textContent = session
    ? t("patrol.session", { case: session.case_number || session.case || "" })
    : t("patrol.noSession");
  $("room-session").classList.toggle("active", Boolean(session));
  $("room-visited").textContent = item.visited
    ? t("patrol.visitedBy", { by: item.visited_by, at: formatTime(item.visited) })
    : "";
  renderResults(item);
  state.marks = {};
  for (const conduct of run.conduct_items) state.marks[conduct.key] = item.conduct[conduct.key] || "ok";
  renderChecklist();
  $("room-note").value = item.note || "";
  const editable = run.state === "open" && can("patrol_run");
  for (const id of ["room-save", "room-note", "room-evidence", "room-severity", "run-finish"]) {
    $(id).disabled = !editable;
  }
  state.recorded = false;
  showVideo();
}

/** A measured value as people read it: three significant digits at most. */
function rounded(value) {
  if (typeof value !== "number") return String(value);
  const size = Math.abs(value);
  return value.toFixed(size >= 100 ? 0 : size >= 10 ? 1 : size >= 1 ? 2 : 3);
}

function renderResults(item) {
  const list = $("room-results");
  list.replaceChildren(
    ...item.results.map((result) => {
      const li = el("li", null, result.ok === false ? "bad" : result.ok ? "ok" : "unknown");
      li.dataset.check = result.check;
      const value = result.value === null ? "—" : `${rounded(result.value)} ${result.unit || ""}`.trim();
      li.append(el("span", t(`check.${result.check}`)), el("span", value, "value"));
      if (result.detail) li.title = result.detail;
      return li;
    }),
  );
  $("room-snapshot").hidden = !item.has_snapshot;
  if (item.has_snapshot) {
    $("room-snapshot").src = `${BASE}/runs/${state.run.id}/items/${item.id}/snapshot`;
  }
}

function renderChecklist() {
  const list = $("room-checklist");
  list.replaceChildren(
    ...state.run.conduct_items.map((conduct, index) => {
      const li = el("li", null, state.marks[conduct.key] === "problem" ? "problem" : "ok");
      li.dataset.key = conduct.key;
      const key = el("kbd", String(index + 1));
      const label = el("span", conduct.label);
      const verdict = el("span", t(state.marks[conduct.key] === "problem" ? "patrol.problem" : "patrol.ok"), "verdict");
      li.append(key, label, verdict);
      li.addEventListener("click", () => toggle(index));
      return li;
    }),
  );
}

function toggle(index) {
  const conduct = state.run.conduct_items[index];
  if (!conduct || state.run.state !== "open") return;
  state.marks[conduct.key] = state.marks[conduct.key] === "problem" ? "ok" : "problem";
  renderChecklist();
}

function stopPlayer() {
  if (state.player) state.player.stop();
  state.player = null;
  $("room-video").replaceChildren();
}

function showVideo() {
  stopPlayer();
  const item = currentItem();
  const box = $("room-video");
  if (state.recorded) {
    const video = el("video");
    video.controls = true;
    video.autoplay = true;
    video.muted = true;
    const end = Date.now();
    const iso = (ms) => new Date(ms).toISOString();
    video.src = `/api/v1/playback/${encodeURIComponent(item.camera)}?start=${iso(end - 30_000)}&end=${iso(end)}&video=h264`;
    box.append(video);
  } else if (can("live_view")) {
    state.player = new LivePlayer(item.camera, { stream: "main", audio: false });
    state.player.setExpectFrames(true);
    box.append(state.player.video);
    state.player.start();
  }
  $("room-mode").textContent = state.recorded ? t("patrol.live") : t("patrol.recent");
}

async function saveVisit() {
  const run = state.run;
  const item = currentItem();
  if (run.state !== "open") return;
  try {
    const room = await call("PUT", `/runs/${run.id}/items/${item.id}`, {
      conduct: state.marks,
      note: $("room-note").value,
      evidence: $("room-evidence").value,
      severity: $("room-severity").value,
    });
    Object.assign(item, room);
    const opened = room.findings_opened.length;
    say(t("patrol.saved", { findings: opened ? t("patrol.savedFindings", { n: opened }) : "" }));
    $("room-visited").textContent = t("patrol.visitedBy", { by: room.visited_by, at: formatTime(room.visited) });
  } catch (error) {
    say(error.message, true);
  }
}

function step(delta) {
  const next = state.index + delta;
  if (next < 0 || next >= state.run.items.length) return;
  state.index = next;
  showRoom();
}

function onKey(event) {
  if ($("manual").hidden) return;
  const inNote = event.target === $("room-note");
  if (inNote) {
    if (event.key === "Enter" && event.ctrlKey) saveVisit();
    if (event.key === "Escape") event.target.blur();
    return;
  }
  if (event.target instanceof HTMLSelectElement) return;
  if (event.key === "ArrowRight" || event.key === "n") step(1);
  else if (event.key === "ArrowLeft" || event.key === "p") step(-1);
  else if (/^[1-9]$/.test(event.key)) toggle(Number(event.key) - 1);
  else if (event.key === "Enter") saveVisit();
  else if (event.key === "r" || event.key === "R") {
    state.recorded = !state.recorded;
    showVideo();
  } else if (event.key === "Escape") showTab("runs");
  else return;
  event.preventDefault();
}

// -- findings -------------------------------------------------------------------------------

async function loadFindings() {
  const filter = $("finding-filter").value;
  const query = filter === "overdue" ? "?overdue=true" : filter ? `?state=${filter}` : "";
  const findings = await call("GET", `/findings${query}`);
  $("findings-rows").replaceChildren(...findings.data.map(findingRow));
}

function findingRow(finding) {
  const tr = el("tr", null, finding.overdue ? "overdue" : "");
  tr.dataset.findingId = finding.id;
  const item = finding.kind === "equipment" ? t(`check.${finding.item}`) : finding.description;
  const due = formatTime(finding.due, { seconds: false }) + (finding.overdue ? ` · ${t("finding.overdue")}` : "");
  for (const text of [`#${finding.id}`, cameraName(finding.camera), item,
    t(`patrol.severity.${finding.severity}`), t(`finding.state.${finding.state}`), due]) {
    tr.append(el("td", text));
  }
  const evidence = el("td", null, "evidence");
  finding.evidence.forEach((entry, index) => {
    if (!entry.snapshot) return;
    const img = el("img");
    img.loading = "lazy";
    img.alt = entry.type;
    img.src = `${BASE}/findings/${finding.id}/evidence/${index}`;
    evidence.append(img);
  });
  tr.append(evidence);
  const actions = el("td", null, "actions");
  const offer = (action, label, needsNote) => {
    actions.append(button(label, () => act(finding, action, needsNote, actions), `act-${action}`));
  };
  const unresolved = ["open", "assigned", "reopened"].includes(finding.state);
  if (can("findings_rectify") && unresolved) offer("rectify", t("finding.rectify"), true);
  if (can("patrol_run") && unresolved) offer("assign", t("finding.assign"), false);
  if (can("patrol_run") && finding.state === "rectified") {
    offer("verify", t("finding.verify"), false);
    offer("reopen", t("finding.reopen"), true);
  }
  tr.append(actions);
  return tr;
}

function act(finding, action, needsNote, actions) {
  if (!needsNote) {
    send(finding, action, {});
    return;
  }
  const form = el("form", null, "note-form");
  const input = el("input");
  input.placeholder = t("finding.notePrompt");
  input.maxLength = 2000;
  input.required = true;
  form.append(input, el("button", t("finding.confirm")));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    send(finding, action, { note: input.value });
  });
  actions.replaceChildren(form);
  input.focus();
}

async function send(finding, action, body) {
  try {
    await call("POST", `/findings/${finding.id}/${action}`, body);
    await loadFindings();
  } catch (error) {
    say(error.message, true);
  }
}

// -- plans ----------------------------------------------------------------------------------

async function loadPlans() {
  const plans = await call("GET", "/plans");
  $("plans-rows").replaceChildren(
    ...plans.data.map((plan) => {
      const tr = el("tr");
      const scope = [...plan.scope.sites, ...plan.scope.areas, ...plan.scope.cameras].join(", ") || "—";
      const sampling = t(`plan.sampling.${plan.sampling.mode}`) + (plan.sampling.per_site ? ` × ${plan.sampling.per_site}` : "");
      for (const text of [plan.name, plan.schedule || t("plan.onDemand"),
        plan.next_run ? formatTime(plan.next_run, { seconds: false }) : "—", scope, sampling,
        `${plan.due_hours} h`, plan.enabled ? "✓" : "✗"]) {
        tr.append(el("td", text));
      }
      return tr;
    }),
  );
}

async function createPlan(event) {
  event.preventDefault();
  const form = new FormData($("plan-form"));
  const perSite = Number(form.get("per_site"));
  const body = {
    name: String(form.get("name") || "").trim(),
    schedule: String(form.get("schedule") || "").trim() || null,
    scope: { sites: form.getAll("sites"), areas: form.getAll("areas") },
    sampling: { mode: form.get("mode"), ...(form.get("mode") !== "all" ? { per_site: perSite || 1 } : {}) },
    due_hours: Number(form.get("due_hours")) || 72,
  };
  try {
    await call("POST", "/plans", body);
    $("plan-form").reset();
    say("");
    await loadPlans();
  } catch (error) {
    say(error.message, true);
  }
}

function fillPlanForm() {
  const sites = new Map();
  for (const camera of state.cameras.values()) sites.set(camera.site, camera.site_name);
  $("plan-sites").replaceChildren(...[...sites].map(([id, name]) => {
    const option = el("option", name);
    option.value = id;
    return option;
  }));
  $("plan-areas").replaceChildren(...AREAS.map((area) => {
    const option = el("option", t(`area.${area}`));
    option.value = area;
    return option;
  }));
}

// -- figures --------------------------------------------------------------------------------

async function loadStats() {
  const days = Number($("stats-days").value);
  const end = branchDay();
  const start = dayBefore(end, days - 1);
  const data = await call("GET", `/bulletin?start=${start}&end=${end}`);
  renderFigures($("stats-table"), data);
  renderTrend($("stats-trend"), data);
  $("stats-print").href = `bulletin.html?start=${start}&end=${end}`;
  $("stats-csv").href = `${BASE}/bulletin?start=${start}&end=${end}&format=csv`;
}

// -- start ----------------------------------------------------------------------------------

async function main() {
  applyI18n(document);
  document.title = t("patrol.title");
  const user = await startPage({ getLang, setLang }, { watermark: true });
  if (!user) return;
  state.user = user;
  setZone(user.timezone);
  const cameras = await call("GET", "/api/v1/cameras");
  for (const camera of cameras.data) state.cameras.set(camera.id, camera);
  fillPlanForm();
  for (const tab of document.querySelectorAll("[data-tab]")) {
    tab.addEventListener("click", () => showTab(tab.dataset.tab));
  }
  $("finding-filter").addEventListener("change", loadFindings);
  $("stats-days").addEventListener("change", loadStats);
  $("plan-form").addEventListener("submit", createPlan);
  $("room-prev").addEventListener("click", () => step(-1));
  $("room-next").addEventListener("click", () => step(1));
  $("room-save").addEventListener("click", saveVisit);
  $("room-mode").addEventListener("click", () => {
    state.recorded = !state.recorded;
    showVideo();
  });
  $("run-finish").addEventListener("click", async () => {
    try {
      state.run = await call("POST", `/runs/${state.run.id}/finish`, {});
      showTab("runs");
    } catch (error) {
      say(error.message, true);
    }
  });
  $("manual-back").addEventListener("click", () => showTab("runs"));
  document.addEventListener("keydown", onKey);
  onLangChange(() => {
    document.title = t("patrol.title");
    if (!$("manual").hidden) showRoom();
  });
  const wanted = new URLSearchParams(location.search).get("tab");
  const first = wanted || (can("patrol_run") ? "runs" : "findings");
  showTab(first);
}

main();
