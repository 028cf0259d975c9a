// report.js — a session's completeness report (GET /api/v1/sessions/{id}/report) as a readable,
// printable document: the verdict first, then per camera coverage, audio, hash chain, every gap
// with its cause, and every segment file with its SHA-256.

import { parseIso } from "./api.js";
import { CAUSE_COLORS, formatClock } from "./timeline.js";
import { causeLabel, t } from "./strings.js";

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const when = (text) => (text ? formatClock(parseIso(text), true, true) : "—");
const percent = (value) => `${Number(value).toFixed(value >= 99.95 || value === 0 ? 1 : 2)} %`;

function size(bytes) {
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(2)} GB`;
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(2)} MB`;
  return `${(bytes / 1e3).toFixed(1)} kB`;
}

function table(headers, rows, className) {
  return el(
    "table",
    { class: className },
    el("thead", {}, el("tr", {}, headers.map((h) => el("th", { text: h })))),
    el("tbody", {}, rows),
  );
}

function field(label, value) {
  return [el("dt", { text: label }), el("dd", {}, value)];
}

/** Fill `root` with the report; `siteName(id)` names a station. */
export function renderReport(root, report, { siteName = (id) => id } = {}) {
  root.replaceChildren();
  const session = report.session || {};
  const case_ = report.case || {};
  const timeZone = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  root.append(el("h1", { text: t("report.title") }));
  root.append(
    el(
      "dl",
      { class: "report-fields" },
      field(t("report.case"), `${case_.number || session.case_number} ${case_.title || ""}`),
      field(t("report.session"), String(session.id ?? "")),
      field(t("report.kind"), t(`kind.${session.kind}`)),
      field(
        t("report.room"),
        [session.site && siteName(session.site), session.room].filter(Boolean).join(" · ") || "—",
      ),
      field(t("report.time"), `${when(session.start)} — ${when(session.end)}`),
      field(t("report.duration"), t("report.seconds", { n: report.duration_seconds })),
      field(t("report.persons"), (session.persons || []).join("、") || "—"),
      field(t("report.officers"), (session.officers || []).join("、") || "—"),
      field(t("report.generated"), when(report.generated_at)),
      report.closed_by ? field(t("report.closedBy"), report.closed_by) : null,
    ),
  );
  root.append(el("p", { class: "report-tz", text: t("time.local", { tz: timeZone }) }));
  const verdict = el(
    "div",
    { class: `report-verdict ${report.complete ? "ok" : "bad"}`, "data-complete": report.complete },
    el("strong", { text: `${t("report.verdict")}: ` }),
    report.complete ? t("report.complete") : t("report.incomplete"),
  );
  root.append(verdict);
  if (!report.final) root.append(el("p", { class: "report-interim", text: t("report.interim") }));
  if ((report.problems || []).length) {
    root.append(
      el("h2", { text: t("report.problems") }),
      el("ul", { class: "report-problems" }, report.problems.map((p) => el("li", { text: p }))),
    );
  }
  for (const camera of report.cameras || []) {
    root.append(renderCamera(camera));
  }
}

function renderCamera(camera) {
  const section = el("section", { class: "report-camera", "data-camera-id": camera.camera_id });
  section.append(el("h2", { text: `${t("report.camera")}: ${camera.camera_name} (${camera.camera_id})` }));
  section.append(
    table(
      [
        t("report.coverage"),
        t("report.recorded"),
        t("report.audioTrack"),
        t("report.audioPresent"),
        t("report.chain"),
      ],
      [
        el(
          "tr",
          {},
          el("td", { class: camera.gaps.length ? "bad" : "ok", text: percent(camera.coverage_percent) }),
          el("td", { text: t("report.seconds", { n: camera.recorded_seconds }) }),
          el("td", { text: percent(camera.audio_track_percent) }),
          el("td", { text: percent(camera.audio_present_percent) }),
          el("td", {
            class: camera.hash_chain_intact ? "ok" : "bad",
            text: camera.hash_chain_intact ? t("report.chain.ok") : t("report.chain.broken"),
          }),
        ),
      ],
      "report-summary",
    ),
  );
  if (camera.in_progress) section.append(el("p", { class: "bad", text: t("report.inProgress") }));
  section.append(el("h3", { text: t("report.gaps") }));
  if (!camera.gaps.length) {
    section.append(el("p", { class: "ok", text: t("report.noGaps") }));
  } else {
    section.append(
      table(
        [t("report.gap.start"), t("report.gap.end"), t("report.gap.duration"), t("report.gap.cause")],
        camera.gaps.map((gap) =>
          el(
            "tr",
            {},
            el("td", { class: "when", text: when(gap.start) }),
            el("td", { class: "when", text: when(gap.end) }),
            el("td", { class: "num", text: gap.duration }),
            el(
              "td",
              {},
              el("span", { class: "swatch", style: `background:${CAUSE_COLORS[gap.cause] || "#f33"}` }),
              `${causeLabel(gap.cause)} (${gap.cause})`,
            ),
          ),
        ),
        "report-gaps",
      ),
    );
  }
  section.append(el("h3", { text: t("report.segments", { n: camera.segments.length }) }));
  section.append(
    table(
      [
        t("report.seg.id"),
        t("report.seg.start"),
        t("report.seg.end"),
        t("report.seg.size"),
        t("report.seg.status"),
        t("report.seg.sha256"),
      ],
      camera.segments.map((segment) =>
        el(
          "tr",
          {},
          el("td", { class: "num", text: segment.id }),
          el("td", { class: "when", text: when(segment.start) }),
          el("td", { class: "when", text: when(segment.end) }),
          el("td", { class: "num", text: size(segment.size_bytes) }),
          el("td", { class: segment.status === "ok" ? "" : "bad", text: segment.status }),
          el("td", { class: "hash", text: segment.sha256 }),
        ),
      ),
      "report-segments",
    ),
  );
  return section;
}
