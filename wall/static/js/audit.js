// audit.js — the audit trail page: filter, page back in time, export CSV, verify the chain.

import { applyI18n, getLang, onLangChange, setLang, t } from "./i18n.js";
import { sessionFetch, startPage } from "./session.js";
import { branchTimeMs, formatTime } from "./clock.js";

/** A datetime-local value ("YYYY-MM-DDTHH:MM") read on the branch's clock. */
function branchInputMs(text) {
  const [day, clock = "00:00"] = text.split("T");
  const [y, mo, d] = day.split("-").map(Number);
  const [h, mi] = clock.split(":").map(Number);
  return branchTimeMs(y, mo, d, h, mi);
}

const $ = (id) => document.getElementById(id);
const ACTIONS = [
  "sign_in", "sign_out", "access_denied", "live_view_start", "live_view_end", "playback",
  "segment_download", "snapshot", "export_request", "export_approve", "export_refuse",
  "export_download", "case_create", "case_update", "tag_create", "session_open",
  "session_close", "hold_release", "hold_release_request", "hold_release_approve",
  "camera_change", "alarm_ack", "user_add", "user_change", "password_change", "token_create",
  "token_revoke", "token_use", "catalog_checkpoint", "audit_export", "audit_verify",
  "patrol_check", "patrol_reference", "patrol_reference_forget",
];
let before = null;

function filters() {
  const form = new FormData($("audit-filters"));
  const query = new URLSearchParams();
  for (const [key, value] of form.entries()) {
    const text = String(value).trim();
    if (!text) continue;
    query.set(key, key === "start" || key === "end" ? new Date(branchInputMs(text)).toISOString() : text);
  }
  return query;
}

function cell(row, text) {
  const td = document.createElement("td");
  td.textContent = text ?? "";
  row.append(td);
  return td;
}

function show(entries, append) {
  const body = $("audit-rows");
  if (!append) body.replaceChildren();
  for (const entry of entries) {
    const row = document.createElement("tr");
    row.dataset.entryId = String(entry.id);
    row.dataset.outcome = entry.outcome;
    cell(row, formatTime(entry.at));
    cell(row, entry.user || "—");
    cell(row, entry.action);
    cell(row, [entry.object_type, entry.object_id].filter(Boolean).join(" "));
    cell(row, entry.site || "");
    cell(row, entry.outcome);
    cell(row, entry.address).title = entry.user_agent || "";
    cell(row, JSON.stringify(entry.details));
    body.append(row);
  }
}

async function search(append = false) {
  const query = filters();
  $("audit-csv").href = `/api/v1/audit/export.csv?${query}`;
  if (append && before) query.set("before", String(before));
  const response = await sessionFetch(`/api/v1/audit?${query}`);
  const body = await response.json();
  if (!response.ok) {
    $("audit-verdict").hidden = false;
    $("audit-verdict").textContent = body.error || `HTTP ${response.status}`;
    return;
  }
  show(body.data, append);
  before = body.next_before;
  $("audit-more").hidden = body.count === 0;
}

async function verify() {
  const box = $("audit-verdict");
  box.hidden = false;
  box.textContent = t("audit.verifying");
  const response = await sessionFetch("/api/v1/audit/verify");
  const report = await response.json();
  if (!response.ok) {
    box.textContent = report.error || `HTTP ${response.status}`;
    return;
  }
  box.dataset.intact = String(report.intact);
  const summary = document.createElement("p");
  summary.textContent = t(report.intact ? "audit.intact" : "audit.tampered", {
    entries: report.entries,
    checkpoints: report.checkpoints,
    problems: report.problems.length,
  });
  const list = document.createElement("ul");
  for (const problem of report.problems) {
    const item = document.createElement("li");
    item.textContent = problem;
    list.append(item);
  }
  box.replaceChildren(summary, list);
}

applyI18n(document);
onLangChange(() => applyI18n(document));
$("audit-actions").replaceChildren(
  ...ACTIONS.map((action) => Object.assign(document.createElement("option"), { value: action }))
);
$("audit-filters").addEventListener("submit", (event) => {
  event.preventDefault();
  search();
});
$("audit-more").addEventListener("click", () => search(true));
$("audit-verify").addEventListener("click", () => verify());
startPage({ getLang, setLang }).then(async (user) => {
  if (!user) return;
  await search();
  document.body.dataset.ready = "true";
});
