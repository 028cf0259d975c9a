// bulletin.js — the printable bulletin (通报) of a period: summary, per-station figures, trend.

import { applyI18n, getLang, onLangChange, setLang, t } from "./i18n.js";
import { sessionFetch, startPage } from "./session.js";
import { branchDay, branchZone, dayBefore, formatTime, setZone } from "./clock.js";
import { renderFigures, renderTrend } from "./patrol-figures.js";
import "./patrol-strings.js";

const $ = (id) => document.getElementById(id);
let shown = null;

async function show(start, end) {
  const query = `start=${start}&end=${end}`;
  const response = await sessionFetch(`/api/v1/patrol/bulletin?${query}`);
  const data = await response.json();
  if (!response.ok) {
    $("bulletin-summary").textContent = data.error || `HTTP ${response.status}`;
    return;
  }
  shown = data;
  history.replaceState(null, "", `?${query}`);
  $("bulletin-csv").href = `/api/v1/patrol/bulletin?${query}&format=csv`;
  render();
}

function render() {
  if (!shown) return;
  const totals = shown.totals;
  document.title = t("bulletin.title");
  $("bulletin-period").textContent = t("bulletin.period", {
    start: shown.first_day, end: shown.last_day, zone: shown.timezone,
  });
  $("bulletin-summary").textContent = t("bulletin.summary", {
    runs: totals.patrol_runs, rooms: totals.rooms_checked, cameras: totals.cameras_checked,
    findings: totals.findings, rectified: totals.rectified, onTime: totals.rectified_on_time,
    overdue: totals.overdue,
  });
  renderFigures($("bulletin-table"), shown);
  renderTrend($("bulletin-trend"), shown);
  $("bulletin-generated").textContent = t("bulletin.generated", { at: formatTime(new Date()) });
}

async function main() {
  applyI18n(document);
  const user = await startPage({ getLang, setLang });
  if (!user) return;
  setZone(user.timezone);
  const params = new URLSearchParams(location.search);
  const end = params.get("end") || branchDay();
  const start = params.get("start") || dayBefore(end, 6);
  const form = $("bulletin-form");
  form.start.value = start;
  form.end.value = end;
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    show(form.start.value, form.end.value);
  });
  $("bulletin-print").addEventListener("click", () => window.print());
  onLangChange(render);
  document.documentElement.dataset.zone = branchZone();
  await show(start, end);
}

main();
