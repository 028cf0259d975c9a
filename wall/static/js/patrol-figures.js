// patrol-figures.js — the per-station figures of a bulletin as a table, and its daily trend as a
// small SVG chart; shared by the patrol page's figures tab and the printable bulletin.

import { t } from "./i18n.js";
import { FIGURE_COLUMNS } from "./patrol-strings.js";

function cell(tag, text, className) {
  const node = document.createElement(tag);
  node.textContent = text;
  if (className) node.className = className;
  return node;
}

function shown(value, percent) {
  if (value === null || value === undefined) return "—";
  return percent ? `${value}%` : String(value);
}

/** Fill `table` with one row per station and the total. */
export function renderFigures(table, data) {
  const head = document.createElement("tr");
  head.append(cell("th", t("col.station")), ...FIGURE_COLUMNS.map(([, label]) => cell("th", t(label))));
  const rows = [...data.stations, { ...data.totals, name: t("col.total"), total: true }].map((row) => {
    const tr = document.createElement("tr");
    if (row.total) tr.className = "total";
    tr.dataset.site = row.site || "";
    tr.append(cell("th", row.name));
    for (const [key, , percent] of FIGURE_COLUMNS) {
      tr.append(cell("td", shown(row[key], percent), key === "overdue" && row[key] ? "bad" : ""));
    }
    return tr;
  });
  table.replaceChildren(cell("thead"), cell("tbody"));
  table.tHead.append(head);
  table.tBodies[0].append(...rows);
}

const SERIES = [
  ["findings", "stats.findings", "#e0584f"],
  ["rectified", "stats.rectified", "#4caf7a"],
  ["rooms_checked", "stats.rooms", "#5b8def"],
];

/** Draw the daily counts of `data.daily` into `svg` (a line per series, with a legend). */
export function renderTrend(svg, data) {
  const ns = "http://www.w3.org/2000/svg";
  const days = data.daily;
  const width = 640;
  const height = 200;
  const pad = 28;
  const max = Math.max(1, ...days.flatMap((d) => SERIES.map(([key]) => d[key] || 0)));
  const x = (i) => pad + (i * (width - 2 * pad)) / Math.max(1, days.length - 1);
  const y = (v) => height - pad - (v * (height - 2 * pad)) / max;
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.replaceChildren();
  const add = (tag, attrs, text) => {
    const node = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    svg.append(node);
    return node;
  };
  add("line", { x1: pad, y1: height - pad, x2: width - pad, y2: height - pad, class: "axis" });
  add("text", { x: 2, y: pad, class: "tick" }, String(max));
  if (days.length) {
    add("text", { x: pad, y: height - 8, class: "tick" }, days[0].day.slice(5));
    add("text", { x: width - pad - 30, y: height - 8, class: "tick" }, days[days.length - 1].day.slice(5));
  }
  SERIES.forEach(([key, label, colour], index) => {
    const points = days.map((d, i) => `${x(i).toFixed(1)},${y(d[key] || 0).toFixed(1)}`).join(" ");
    add("polyline", { points, fill: "none", stroke: colour, "stroke-width": 2, "data-series": key });
    add("text", { x: pad + 10 + index * 120, y: 14, fill: colour, class: "legend" }, t(label));
  });
}
