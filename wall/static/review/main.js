// main.js — the inspectors' review page: find a case, open one of its sessions or tags, play the
// room's cameras side by side on one clock, tag what matters (mark in / mark out), and read or
// print a session's completeness report.
//
// URL: review.html[?case=NUMBER[&session=ID|&tag=ID]] opens that case (and plays that item).
// `window.casewatchReview.stats()` reports what each video shows (for tests and diagnostics).

import { eventsUrl } from "../js/api.js";
import { setLang } from "../js/i18n.js";
import { startPage } from "../js/session.js";
import { branchParts, branchTimeMs } from "../js/clock.js";
import {
  addTag,
  getCase,
  listCameras,
  parseIso,
  playbackIndex,
  searchCases,
  sessionReport,
} from "./api.js";
import { el, toast } from "./dom.js";
import { EvidencePanel } from "./evidence.js";
import { CameraPlayer } from "./player.js";
import { renderReport } from "./report.js";
import { applyStrings, causeLabel, getLang, onStringsChange, t } from "./strings.js";
import { SyncGroup } from "./sync.js";
import {
  CAUSE_COLORS,
  IN_PROGRESS_COLOR,
  MARK_COLOR,
  PLAYHEAD_COLOR,
  RECORDED_COLOR,
  Timeline,
  formatClock,
  formatDuration,
} from "./timeline.js";

const $ = (id) => document.getElementById(id);
const KINDS = ["interrogation", "inquiry", "identification", "property_handling", "other"];
const SPEEDS = [1, 2, 4, 8];
const ORIGIN_MARGIN_MS = 120_000; // media time 0 lies this far before the view (keyframes before it)
const INDEX_REFRESH_MS = 10_000;

const state = {
  cameras: new Map(),
  sites: new Map(),
  caseData: null,
  item: null, // {type: "session"|"tag", data}
  group: null,
  players: [],
  view: null,
  marks: { in: null, out: null },
  refreshTimer: null,
};

const evidence = new EvidencePanel({
  onError: (error) => showError(error),
  cameraName: (id) => cameraName(id),
  openCase: (number) => openCase(number),
});

// -- small helpers -------------------------------------------------------------------------------

function showError(error) {
  toast(t("toast.error", { msg: error.message || String(error) }), "error");
}

const splitNames = (text) =>
  text
    .split(/[,，、;；]/)
    .map((s) => s.trim())
    .filter(Boolean);

const siteName = (id) => state.sites.get(id) || id;
const cameraName = (id) => (state.cameras.get(id) || {}).name || id;

function itemLabel(item) {
  return `${t(`kind.${item.kind}`)} ${item.session ? `#${item.id}` : `(${item.id})`}`;
}

/** A time typed by the user: ISO with zone, "YYYY-MM-DD HH:MM:SS[.mmm]" or "HH:MM[:SS[.mmm]]"
 *  (on the branch's clock; the date of the current position when omitted). */
export function parseUserTime(text, referenceMs) {
  const value = text.trim();
  if (!value) return NaN;
  if (/^\d{4}-\d\d-\d\dT.*(Z|[+-]\d\d:?\d\d)$/.test(value)) return parseIso(value);
  let match = /^(\d{4})-(\d\d)-(\d\d)[ T](\d{1,2}):(\d\d)(?::(\d\d)(?:\.(\d{1,3}))?)?$/.exec(value);
  if (match) {
    const [, y, mo, d, h, mi, s = "0", ms = "0"] = match;
    return branchTimeMs(+y, +mo, +d, +h, +mi, +s, +ms.padEnd(3, "0"));
  }
  match = /^(\d{1,2}):(\d\d)(?::(\d\d)(?:\.(\d{1,3}))?)?$/.exec(value);
  if (match) {
    const [, h, mi, s = "0", ms = "0"] = match;
    const day = branchParts(referenceMs ?? Date.now());
    return branchTimeMs(+day.year, +day.month, +day.day, +h, +mi, +s, +ms.padEnd(3, "0"));
  }
  return NaN;
}

// -- search ----------------------------------------------------------------------------------------

async function loadCameras() {
  try {
    const cameras = await listCameras();
    const sites = new Map();
    for (const camera of cameras) {
      state.cameras.set(camera.id, camera);
      sites.set(camera.site, camera.site_name || camera.site);
    }
    state.sites = sites;
    const select = $("search-site");
    for (const [id, name] of sites) select.append(el("option", { value: id, text: name }));
  } catch (error) {
    showError(error);
  }
}

async function runSearch(event) {
  if (event) event.preventDefault();
  const date = $("search-date").value;
  const params = {
    q: $("search-q").value.trim(),
    person: $("search-person").value.trim(),
    site: $("search-site").value,
    date, // a day of the branch's calendar (its time zone), as the API takes it
  };
  try {
    const result = await searchCases(params);
    renderResults(result.data);
  } catch (error) {
    showError(error);
  }
}

function renderResults(cases) {
  const list = $("results");
  list.replaceChildren();
  $("results-count").textContent = cases.length
    ? t("search.count", { n: cases.length })
    : t("search.none");
  for (const c of cases) {
    list.append(
      el(
        "li",
        { "data-case": c.number },
        el(
          "button",
          { type: "button", class: "result", onclick: () => openCase(c.number) },
          el("span", { class: "case-number", text: c.number }),
          el("span", { class: "case-title", text: c.title }),
          el("span", {
            class: `badge ${c.status}`,
            text: t(`case.status.${c.status}`),
          }),
        ),
      ),
    );
  }
}

// -- a case ------------------------------------------------------------------------------------------

async function openCase(number, { select } = {}) {
  let data;
  try {
    data = await getCase(number);
  } catch (error) {
    showError(error);
    return;
  }
  state.caseData = data;
  renderCase();
  $("case-panel").hidden = false;
  $("results-panel").hidden = true;
  setUrl();
  evidence.showCase(data.number);
  if (select) {
    const pool = select.type === "session" ? data.sessions : data.tags;
    const item = pool.find((i) => String(i.id) === String(select.id));
    if (item) openItem(item);
  }
}

function renderCase() {
  const data = state.caseData;
  if (!data) return;
  $("case-title").textContent = `${data.number}`;
  $("case-meta").replaceChildren(
    el("div", { class: "case-name", text: data.title }),
    el(
      "div",
      { class: "muted" },
      `${t(`case.type.${data.type}`)} · `,
      el("span", { class: `badge ${data.status}`, text: t(`case.status.${data.status}`) }),
    ),
  );
  renderItems($("case-sessions"), data.sessions, "session", t("case.noSessions"));
  renderItems($("case-tags"), data.tags, "tag", t("case.noTags"));
}

function renderItems(list, items, type, emptyText) {
  list.replaceChildren();
  if (!items.length) list.append(el("li", { class: "muted", text: emptyText }));
  for (const item of items) {
    const start = parseIso(item.start);
    const end = item.end ? parseIso(item.end) : null;
    const selected = state.item && state.item.data.id === item.id && state.item.type === type;
    list.append(
      el(
        "li",
        {
          class: `item ${selected ? "selected" : ""}`,
          [`data-${type}-id`]: item.id,
        },
        el(
          "div",
          { class: "item-head" },
          el("strong", { text: itemLabel(item) }),
          item.session
            ? el("span", {
                class: `badge ${item.status}`,
                text: item.status === "open" ? t("item.open") : t("item.closed"),
              })
            : null,
        ),
        el(
          "div",
          { class: "item-time" },
          `${formatClock(start, true)} — ${end ? formatClock(end, true) : "…"}`,
          end ? ` (${formatDuration(end - start)})` : "",
        ),
        el(
          "div",
          { class: "muted" },
          [
            item.site && siteName(item.site),
            item.room,
            t("item.cameras", { n: item.camera_ids.length }),
          ]
            .filter(Boolean)
            .join(" · "),
        ),
        item.persons.length
          ? el("div", { class: "muted", text: t("item.persons", { v: item.persons.join("、") }) })
          : null,
        item.officers.length
          ? el("div", { class: "muted", text: t("item.officers", { v: item.officers.join("、") }) })
          : null,
        item.note ? el("div", { class: "note", text: item.note }) : null,
        el(
          "div",
          { class: "row" },
          el("button", {
            type: "button",
            class: "primary play",
            text: t("item.play"),
            onclick: () => openItem(item),
          }),
          item.session
            ? el("button", {
                type: "button",
                class: "report-btn",
                text: t("item.report"),
                onclick: () => openReport(item.id),
              })
            : null,
          el("button", {
            type: "button",
            class: "export-btn needs-exports_create",
            text: t("export.item"),
            onclick: () => evidence.exportSelection(type === "session" ? { sessions: [item.id] } : { tags: [item.id] }),
          }),
        ),
      ),
    );
  }
}

function setUrl() {
  const params = new URLSearchParams();
  if (state.caseData) params.set("case", state.caseData.number);
  if (state.item) params.set(state.item.type, state.item.data.id);
  const query = params.toString();
  history.replaceState(null, "", query ? `?${query}` : location.pathname);
}

// -- the player ----------------------------------------------------------------------------------------

let timeline = null;

function closePlayer() {
  if (state.group) state.group.destroy();
  state.group = null;
  state.players = [];
  clearInterval(state.refreshTimer);
  $("videos").replaceChildren();
}

async function openItem(item) {
  closePlayer();
  const type = item.session ? "session" : "tag";
  state.item = { type, data: item };
  renderCase();
  setUrl();
  const now = Date.now();
  const start = parseIso(item.start);
  const end = item.end ? parseIso(item.end) : now;
  const margin = Math.max(30_000, (end - start) * 0.05);
  const view = { start: start - margin, end: Math.min(end + margin, now) };
  state.view = view;
  const origin = view.start - ORIGIN_MARGIN_MS;
  $("player-empty").hidden = true;
  $("player").hidden = false;
  $("player-title").textContent = t("player.title", {
    case: state.caseData ? state.caseData.number : item.case_number,
    what: itemLabel(item),
  });
  const videos = $("videos");
  videos.dataset.count = String(item.camera_ids.length);
  state.players = item.camera_ids.map((id, index) => {
    const camera = { id, name: cameraName(id) };
    const video = el("video", { playsinline: true, preload: "auto", "data-camera-id": id });
    video.muted = index > 0; // one room, one voice: the first camera's audio only
    const status = el("span", { class: "cam-status" });
    const mute = el("button", { type: "button", class: "mute" });
    const tile = el(
      "figure",
      { class: "cam", "data-camera-id": id },
      video,
      el("figcaption", {}, el("span", { class: "cam-name", text: camera.name }), status, mute),
    );
    videos.append(tile);
    const player = new CameraPlayer(camera, video, origin, {
      onStatus: (p) => renderTileStatus(p),
      onError: (p, message) => {
        if (message.startsWith("codec:")) {
          toast(t("player.codec", { codecs: message.slice(6) }), "error");
        }
      },
    });
    player.tile = tile;
    player.statusEl = status;
    mute.addEventListener("click", () => {
      video.muted = !video.muted;
      renderTileStatus(player);
    });
    player.muteEl = mute;
    renderTileStatus(player);
    return player;
  });
  timeline.setRange(view.start, view.end);
  updateBands();
  await refreshIndex();
  state.group = new SyncGroup(state.players, view, {
    onTick: renderTick,
    onSkip: (_g, from, to, cause) =>
      toast(`${t("player.skipped", { cause: cause ? causeLabel(cause) : "—" })} ${formatClock(from)} → ${formatClock(to)}`),
    onEnd: () => toast(t("player.end")),
  });
  state.group.seek(start);
  state.group.play();
  if (!item.end || view.end > Date.now() - 60_000) {
    state.refreshTimer = setInterval(async () => {
      if (!item.end) {
        state.view.end = Date.now();
        timeline.full.end = state.view.end;
      }
      await refreshIndex();
    }, INDEX_REFRESH_MS);
  }
}

async function refreshIndex() {
  const view = state.view;
  const rows = [];
  await Promise.all(
    state.players.map(async (player) => {
      try {
        const index = await playbackIndex(player.camera.id, view.start, view.end);
        const spans = (list) => list.map((s) => ({ start: parseIso(s.start), end: parseIso(s.end), cause: s.cause }));
        player.setIndex(spans(index.pieces), spans(index.gaps));
        player.indexData = index;
        rows.push({
          id: player.camera.id,
          label: index.camera_name || player.camera.name,
          recorded: spans(index.pieces),
          gaps: spans(index.gaps),
          inProgress: index.in_progress
            ? { start: parseIso(index.in_progress.start), end: parseIso(index.in_progress.end) }
            : null,
        });
      } catch (error) {
        showError(error);
      }
    }),
  );
  const order = state.players.map((p) => p.camera.id);
  rows.sort((a, b) => order.indexOf(a.id) - order.indexOf(b.id));
  timeline.setRows(rows);
}

function updateBands() {
  const data = state.caseData;
  if (!data || !timeline) return;
  const items = [...data.sessions, ...data.tags];
  timeline.setBands(
    items.map((item) => ({
      start: parseIso(item.start),
      end: item.end ? parseIso(item.end) : null,
      session: item.session,
      label: itemLabel(item),
      selected: state.item && state.item.data.id === item.id,
    })),
  );
}

function renderTileStatus(player) {
  const video = player.video;
  let text = "";
  let kind = player.status;
  if (player.status === "loading") text = t("player.loading");
  else if (player.status === "gap") {
    const gap = state.group ? player.gapAt(state.group.clock) : null;
    text = gap ? t("player.gap", { cause: causeLabel(gap.cause) }) : t("player.noFootage");
  } else if (player.status === "error") text = t("player.error", { msg: player.error || "" });
  if (player.statusEl) {
    player.statusEl.textContent = text;
    player.statusEl.dataset.kind = kind;
  }
  if (player.tile) player.tile.dataset.status = player.status;
  if (player.muteEl) {
    player.muteEl.textContent = video.muted ? t("player.unmute") : t("player.mute");
    player.muteEl.dataset.muted = String(video.muted);
  }
}

function renderTick(group) {
  $("clock-text").textContent = formatClock(group.clock, true, true);
  const play = $("btn-play");
  const label = group.playing ? t("player.pause") : t("player.play");
  if (play.dataset.state !== String(group.playing) || play.textContent !== label) {
    play.dataset.state = String(group.playing);
    play.textContent = label;
  }
  for (const button of document.querySelectorAll("#speeds button")) {
    button.classList.toggle("active", Number(button.dataset.rate) === group.rate);
  }
  timeline.setPlayhead(group.clock);
  for (const player of state.players) {
    if (player.status === "gap" || player.tile.dataset.status !== player.status) {
      renderTileStatus(player);
    }
  }
  renderMarks();
}

// -- marks and tags ------------------------------------------------------------------------------

function renderMarks() {
  const { in: markIn, out: markOut } = state.marks;
  timeline.setMarks(markIn, markOut);
  const text = $("mark-text");
  if (markIn === null) {
    text.textContent = "";
  } else {
    const end = markOut ?? (state.group ? state.group.clock : markIn);
    text.textContent = t("mark.range", {
      start: formatClock(Math.min(markIn, end), false, true),
      end: markOut === null ? "…" : formatClock(Math.max(markIn, end), false, true),
      dur: formatDuration(Math.abs(end - markIn)),
    });
  }
  $("tag-form").hidden = markIn === null || markOut === null;
}

function markIn() {
  if (!state.group) return;
  state.marks = { in: state.group.clock, out: null };
  renderMarks();
}

function markOut() {
  if (!state.group) return;
  if (state.marks.in === null) {
    toast(t("mark.need"));
    return;
  }
  const a = state.marks.in;
  const b = state.group.clock;
  state.marks = { in: Math.min(a, b), out: Math.max(a, b) };
  renderTagForm();
  renderMarks();
}

function clearMarks() {
  state.marks = { in: null, out: null };
  renderMarks();
}

function renderTagForm() {
  const select = $("tag-kind");
  if (!select.options.length) {
    for (const kind of KINDS) select.append(el("option", { value: kind, text: t(`kind.${kind}`) }));
    select.value = "other";
  }
  const box = $("tag-cameras");
  box.replaceChildren(
    ...state.players.map((p) =>
      el(
        "label",
        { class: "inline" },
        el("input", { type: "checkbox", value: p.camera.id, checked: true }),
        p.camera.name,
      ),
    ),
  );
}

async function saveTag(event) {
  event.preventDefault();
  const { in: start, out: end } = state.marks;
  if (start === null || end === null || !state.caseData) {
    toast(t("mark.need"));
    return;
  }
  const cameraIds = [...$("tag-cameras").querySelectorAll("input:checked")].map((i) => i.value);
  const body = {
    camera_ids: cameraIds,
    kind: $("tag-kind").value,
    start: new Date(start).toISOString(),
    end: new Date(end).toISOString(),
    persons: splitNames($("tag-persons").value),
    officers: splitNames($("tag-officers").value),
    note: $("tag-note").value.trim(),
  };
  try {
    const tag = await addTag(state.caseData.number, body);
    toast(t("tag.saved", { id: tag.id }));
    clearMarks();
    $("tag-note").value = "";
    state.caseData = await getCase(state.caseData.number);
    renderCase();
    updateBands();
  } catch (error) {
    showError(error);
  }
}

// -- report ----------------------------------------------------------------------------------------

async function openReport(sessionId) {
  try {
    const report = await sessionReport(sessionId);
    state.report = report;
    renderReport($("report"), report, { siteName });
    $("report-view").hidden = false;
    document.body.classList.add("report-open");
    $("report-view").scrollTop = 0;
  } catch (error) {
    showError(error);
  }
}

function closeReport() {
  $("report-view").hidden = true;
  document.body.classList.remove("report-open");
}

// -- wiring ------------------------------------------------------------------------------------------

function renderLegend() {
  const legend = $("legend");
  const swatch = (color, label, extra = "") =>
    el("li", {}, el("span", { class: `swatch ${extra}`, style: `background:${color}` }), label);
  legend.replaceChildren(
    swatch(RECORDED_COLOR, t("legend.recorded")),
    swatch(IN_PROGRESS_COLOR, t("legend.in_progress")),
    ...Object.entries(CAUSE_COLORS).map(([cause, color]) => swatch(color, causeLabel(cause))),
    swatch(MARK_COLOR, t("legend.mark")),
    swatch(PLAYHEAD_COLOR, t("legend.playhead"), "line"),
  );
}

function seekFromInput(event) {
  event.preventDefault();
  if (!state.group) return;
  const text = $("seek-input").value;
  const target = parseUserTime(text, state.group.clock);
  if (Number.isNaN(target)) {
    toast(t("player.seek.bad", { v: text }), "error");
    return;
  }
  state.group.seek(target);
}

function onKey(event) {
  if (!state.group || event.target.closest("input, textarea, select")) return;
  if (event.key === " " && event.target.closest("button")) return; // the button's own click
  if (event.key === " ") {
    event.preventDefault();
    state.group.toggle();
  } else if (event.key === "ArrowLeft" || event.key === ",") state.group.step(-1);
  else if (event.key === "ArrowRight" || event.key === ".") state.group.step(1);
  else if (event.key === "i" || event.key === "I") markIn();
  else if (event.key === "o" || event.key === "O") markOut();
  else if (event.key === "Escape") closeReport();
}

/** Four-eyes requests made or decided anywhere refresh the approvals and the open case. */
function listenForApprovals() {
  const source = new EventSource(eventsUrl());
  source.addEventListener("approval", (message) => {
    try {
      evidence.onApprovalEvent(JSON.parse(message.data));
    } catch {
      console.warn("casewatch: bad approval event", message.data);
    }
  });
  source.addEventListener("open", () => evidence.refreshApprovals()); // and after a reconnect
}

async function wire() {
  const user = await startPage({ getLang, setLang }, { watermark: true });
  if (user) listenForApprovals();
  $("search-form").addEventListener("submit", runSearch);
  $("case-back").addEventListener("click", () => {
    $("case-panel").hidden = true;
    $("results-panel").hidden = false;
  });
  $("export-case").addEventListener("click", () => evidence.exportSelection({}));
  $("btn-play").addEventListener("click", () => state.group && state.group.toggle());
  $("btn-step-back").addEventListener("click", () => state.group && state.group.step(-1));
  $("btn-step-fwd").addEventListener("click", () => state.group && state.group.step(1));
  const speeds = $("speeds");
  for (const rate of SPEEDS) {
    speeds.append(
      el("button", {
        type: "button",
        "data-rate": rate,
        text: `${rate}×`,
        onclick: () => state.group && state.group.setRate(rate),
      }),
    );
  }
  $("seek-form").addEventListener("submit", seekFromInput);
  $("btn-mark-in").addEventListener("click", markIn);
  $("btn-mark-out").addEventListener("click", markOut);
  $("btn-mark-clear").addEventListener("click", clearMarks);
  $("btn-fit").addEventListener("click", () => timeline.fit());
  $("btn-zoom-in").addEventListener("click", () => timeline.zoom(0.5));
  $("btn-zoom-out").addEventListener("click", () => timeline.zoom(2));
  $("tag-form").addEventListener("submit", saveTag);
  $("report-print").addEventListener("click", () => window.print());
  $("report-close").addEventListener("click", closeReport);
  document.addEventListener("keydown", onKey);
  timeline = new Timeline($("timeline"), $("timeline-tip"), {
    onSeek: (ms) => state.group && state.group.seek(ms),
  });
  onStringsChange(() => {
    renderLegend();
    renderCase();
    evidence.render();
    evidence.renderApprovals();
    if (state.report && !$("report-view").hidden) renderReport($("report"), state.report, { siteName });
    const kind = $("tag-kind");
    for (const option of kind.options) option.textContent = t(`kind.${option.value}`);
    for (const player of state.players) renderTileStatus(player);
    timeline.draw();
  });
}

window.casewatchReview = {
  stats() {
    const group = state.group;
    return {
      clock: group ? group.clock : null,
      playing: group ? group.playing : false,
      rate: group ? group.rate : 1,
      lead: group && group.lead ? group.lead.camera.id : null,
      view: state.view,
      timeline: timeline
        ? { start: timeline.view.start, end: timeline.view.end, labelPx: timeline.labelWidth() }
        : null,
      players: state.players.map((p) => p.stats()),
    };
  },
  parseUserTime,
};

async function init() {
  applyStrings(document);
  await wire();
  renderLegend();
  await loadCameras();
  const params = new URLSearchParams(location.search);
  const number = params.get("case");
  if (number) {
    const select = params.get("session")
      ? { type: "session", id: params.get("session") }
      : params.get("tag")
        ? { type: "tag", id: params.get("tag") }
        : null;
    await openCase(number, { select });
  }
  document.body.dataset.ready = "true";
}

init();
