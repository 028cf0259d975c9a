// timeline.js — a canvas timeline: one row per camera (recorded footage, gaps coloured by cause,
// the segment being written), a band row of the case's tags and sessions, the playhead and the
// marked range. Click to seek, wheel to zoom around the pointer, drag to pan.

import { branchParts, zoneOffsetMs } from "../js/clock.js";
import { causeLabel, t } from "./strings.js";

export const CAUSE_COLORS = {
  camera_offline: "#ff3b3b",
  camera_stalled: "#ff8c1a",
  camera_connecting: "#ffc078",
  recorder_down: "#b04cff",
  disk_full: "#ff4fa3",
  write_error: "#e8590c",
  mux_error: "#d9480f",
  storage_stalled: "#f76707",
  clock_drift: "#ffd43b",
  timestamp_jump: "#c0a000",
  stream_changed: "#74c0fc",
  deleted_by_retention: "#868e96",
  footage_lost: "#a61e4d",
  not_recording: "#5c677d",
  recording_paused: "#4263eb",
};
export const RECORDED_COLOR = "#2ee27a";
export const IN_PROGRESS_COLOR = "#1f8f55";
export const PLAYHEAD_COLOR = "#ffffff";
export const MARK_COLOR = "rgba(62, 166, 255, 0.28)";
const SESSION_COLOR = "rgba(185, 140, 255, 0.85)";
const TAG_COLOR = "rgba(62, 166, 255, 0.85)";
const STEPS = [
  1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400,
].map((s) => s * 1000);

const pad = (n) => String(n).padStart(2, "0");

/** An instant on the branch's clock (its time zone, whatever the browser's). */
export function formatClock(ms, withDate = false, withMillis = false) {
  const p = branchParts(ms);
  let text = `${p.hour}:${p.minute}:${p.second}`;
  if (withMillis) text += `.${String(((ms % 1000) + 1000) % 1000).padStart(3, "0")}`;
  if (withDate) text = `${p.year}-${p.month}-${p.day} ${text}`;
  return text;
}

export function formatDuration(ms) {
  const total = Math.round(ms / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  return h ? `${h}:${pad(m)}:${pad(s)}` : `${m}:${pad(s)}`;
}

export class Timeline {
  constructor(canvas, tooltip, hooks = {}) {
    this.canvas = canvas;
    this.tooltip = tooltip;
    this.hooks = hooks;
    this.full = { start: 0, end: 1 };
    this.view = { start: 0, end: 1 };
    this.rows = [];
    this.bands = [];
    this.playhead = null;
    this.marks = { in: null, out: null };
    this._drag = null;
    this._pending = false;
    new ResizeObserver(() => this.draw()).observe(canvas);
    canvas.addEventListener("pointerdown", (e) => this._down(e));
    canvas.addEventListener("pointermove", (e) => this._move(e));
    canvas.addEventListener("pointerup", (e) => this._up(e));
    canvas.addEventListener("pointerleave", () => this._hideTip());
    canvas.addEventListener("wheel", (e) => this._wheel(e), { passive: false });
  }

  // -- geometry ------------------------------------------------------------------------------

  _metrics() {
    const rem = parseFloat(getComputedStyle(document.documentElement).fontSize) || 16;
    return {
      rem,
      label: Math.round(rem * 9),
      axis: Math.round(rem * 1.7),
      band: Math.round(rem * 1.7),
      row: Math.round(rem * 2.1),
      gapY: Math.round(rem * 0.25),
    };
  }

  /** Width (CSS px) of the row labels at the left; the time axis starts there. */
  labelWidth() {
    return this._metrics().label;
  }

  height() {
    const m = this._metrics();
    return m.axis + m.band + this.rows.length * (m.row + m.gapY) + m.gapY;
  }

  xOf(ms, width, m) {
    const span = this.view.end - this.view.start;
    return m.label + ((ms - this.view.start) / span) * (width - m.label);
  }

  timeAt(x, width, m) {
    const span = this.view.end - this.view.start;
    return this.view.start + ((x - m.label) / (width - m.label)) * span;
  }

  // -- data ----------------------------------------------------------------------------------

  setRange(start, end) {
    this.full = { start, end };
    this.view = { start, end };
    this.draw();
  }

  fit() {
    this.view = { ...this.full };
    this.draw();
  }

  zoom(factor, centerMs = this.playhead ?? (this.view.start + this.view.end) / 2) {
    const span = Math.min(
      Math.max((this.view.end - this.view.start) * factor, 2000),
      (this.full.end - this.full.start) * 4,
    );
    const ratio = (centerMs - this.view.start) / (this.view.end - this.view.start);
    const start = centerMs - span * ratio;
    this.view = { start, end: start + span };
    this.draw();
  }

  setRows(rows) {
    this.rows = rows;
    this.canvas.style.height = `${this.height()}px`;
    this.draw();
  }

  setBands(bands) {
    this.bands = bands;
    this.draw();
  }

  setPlayhead(ms) {
    this.playhead = ms;
    if (ms !== null && (ms < this.view.start || ms > this.view.end)) {
      const span = this.view.end - this.view.start;
      this.view = { start: ms - span * 0.1, end: ms + span * 0.9 };
    }
    this.draw();
  }

  setMarks(markIn, markOut) {
    this.marks = { in: markIn, out: markOut };
    this.draw();
  }

  // -- drawing -------------------------------------------------------------------------------

  draw() {
    if (this._pending) return;
    this._pending = true;
    requestAnimationFrame(() => {
      this._pending = false;
      this._paint();
    });
  }

  _paint() {
    const canvas = this.canvas;
    const m = this._metrics();
    const dpr = window.devicePixelRatio || 1;
    const width = canvas.clientWidth;
    const height = this.height();
    if (!width) return;
    canvas.width = Math.round(width * dpr);
    canvas.height = Math.round(height * dpr);
    const ctx = canvas.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, height);
    ctx.font = `${Math.round(m.rem * 0.8)}px system-ui, "Noto Sans CJK SC", sans-serif`;
    ctx.textBaseline = "middle";
    const x = (ms) => this.xOf(ms, width, m);
    const clip = (a, b) => [Math.max(m.label, x(a)), Math.min(width, x(b))];

    // axis
    const span = this.view.end - this.view.start;
    const step =
      STEPS.find((s) => ((width - m.label) * s) / span >= m.rem * 6) || STEPS[STEPS.length - 1];
    const multiDay = span > 20 * 3600 * 1000;
    ctx.fillStyle = "#9aa6b5";
    ctx.strokeStyle = "#2a3442";
    ctx.lineWidth = 1;
    const offset = -zoneOffsetMs(this.view.start); // ticks on the branch clock's round times
    let tick = Math.ceil((this.view.start - offset) / step) * step + offset;
    for (; tick <= this.view.end; tick += step) {
      const px = Math.round(x(tick)) + 0.5;
      if (px < m.label) continue;
      ctx.beginPath();
      ctx.moveTo(px, m.axis - 6);
      ctx.lineTo(px, height);
      ctx.stroke();
      const label = formatClock(tick, multiDay && step >= 3600000);
      ctx.fillText(step >= 60000 ? label.slice(0, -3) : label, px + 3, m.axis / 2);
    }

    // band row: tags and sessions
    let y = m.axis;
    ctx.fillStyle = "#9aa6b5";
    ctx.fillText(t("timeline.tags"), 4, y + m.band / 2);
    for (const band of this.bands) {
      const [a, b] = clip(band.start, band.end ?? this.view.end);
      if (b <= a) continue;
      ctx.fillStyle = band.session ? SESSION_COLOR : TAG_COLOR;
      ctx.globalAlpha = band.selected ? 1 : 0.55;
      ctx.fillRect(a, y + 3, Math.max(2, b - a), m.band - 6);
      ctx.globalAlpha = 1;
      ctx.fillStyle = "#05070a";
      if (b - a > m.rem * 3) ctx.fillText(band.label, a + 4, y + m.band / 2, b - a - 8);
    }
    y += m.band;

    // camera rows
    for (const row of this.rows) {
      y += m.gapY;
      ctx.fillStyle = "#161d27";
      ctx.fillRect(m.label, y, width - m.label, m.row);
      for (const gap of row.gaps) {
        const [a, b] = clip(gap.start, gap.end);
        if (b <= a) continue;
        ctx.fillStyle = CAUSE_COLORS[gap.cause] || "#ff3b3b";
        ctx.fillRect(a, y + m.row * 0.2, Math.max(1, b - a), m.row * 0.6);
      }
      for (const span of row.recorded) {
        const [a, b] = clip(span.start, span.end);
        if (b <= a) continue;
        ctx.fillStyle = RECORDED_COLOR;
        ctx.fillRect(a, y, Math.max(1, b - a), m.row);
      }
      if (row.inProgress) {
        const [a, b] = clip(row.inProgress.start, row.inProgress.end);
        if (b > a) {
          ctx.fillStyle = IN_PROGRESS_COLOR;
          ctx.fillRect(a, y, b - a, m.row);
        }
      }
      ctx.fillStyle = "#f2f5f8";
      ctx.fillText(row.label, 4, y + m.row / 2, m.label - 8);
      y += m.row;
    }

    // tags and sessions across the rows, marks, playhead
    ctx.strokeStyle = "rgba(185, 140, 255, 0.9)";
    for (const band of this.bands.filter((b) => b.selected)) {
      for (const edge of [band.start, band.end]) {
        if (edge === null || edge === undefined) continue;
        const px = Math.round(x(edge)) + 0.5;
        if (px < m.label || px > width) continue;
        ctx.beginPath();
        ctx.setLineDash([4, 3]);
        ctx.moveTo(px, m.axis);
        ctx.lineTo(px, height);
        ctx.stroke();
        ctx.setLineDash([]);
      }
    }
    if (this.marks.in !== null) {
      const end = this.marks.out ?? this.playhead ?? this.marks.in;
      const [a, b] = clip(Math.min(this.marks.in, end), Math.max(this.marks.in, end));
      ctx.fillStyle = MARK_COLOR;
      ctx.fillRect(a, m.axis, Math.max(2, b - a), height - m.axis);
    }
    if (this.playhead !== null) {
      const px = Math.round(x(this.playhead)) + 0.5;
      if (px >= m.label && px <= width) {
        ctx.strokeStyle = PLAYHEAD_COLOR;
        ctx.lineWidth = 2;
        ctx.beginPath();
        ctx.moveTo(px, 0);
        ctx.lineTo(px, height);
        ctx.stroke();
      }
    }
  }

  // -- pointer -------------------------------------------------------------------------------

  _local(event) {
    const rect = this.canvas.getBoundingClientRect();
    return { x: event.clientX - rect.left, y: event.clientY - rect.top, width: rect.width };
  }

  _down(event) {
    const p = this._local(event);
    this._drag = { x: p.x, view: { ...this.view }, moved: false };
    this.canvas.setPointerCapture(event.pointerId);
  }

  _move(event) {
    const p = this._local(event);
    const m = this._metrics();
    if (this._drag) {
      const dx = p.x - this._drag.x;
      if (Math.abs(dx) > 5) this._drag.moved = true;
      if (this._drag.moved) {
        const span = this._drag.view.end - this._drag.view.start;
        const shift = (dx / (p.width - m.label)) * span;
        this.view = { start: this._drag.view.start - shift, end: this._drag.view.end - shift };
        this.draw();
      }
    }
    this._showTip(p, m);
  }

  _up(event) {
    const drag = this._drag;
    this._drag = null;
    if (!drag || drag.moved) return;
    const p = this._local(event);
    const m = this._metrics();
    if (p.x < m.label) return;
    const ms = this.timeAt(p.x, p.width, m);
    if (this.hooks.onSeek) this.hooks.onSeek(ms);
  }

  _wheel(event) {
    event.preventDefault();
    const p = this._local(event);
    const m = this._metrics();
    if (p.x < m.label) return;
    this.zoom(event.deltaY > 0 ? 1.25 : 0.8, this.timeAt(p.x, p.width, m));
  }

  _showTip(p, m) {
    if (p.x < m.label) return this._hideTip();
    const ms = this.timeAt(p.x, p.width, m);
    let text = formatClock(ms, true);
    let y = m.axis + m.band;
    for (const row of this.rows) {
      y += m.gapY;
      if (p.y >= y && p.y < y + m.row) {
        const gap = row.gaps.find((g) => g.start <= ms && ms < g.end);
        const recorded = row.recorded.some((s) => s.start <= ms && ms < s.end);
        text += ` · ${row.label}: `;
        if (gap) text += `${causeLabel(gap.cause)} (${formatDuration(gap.end - gap.start)})`;
        else text += recorded ? t("legend.recorded") : "—";
      }
      y += m.row;
    }
    if (p.y >= m.axis && p.y < m.axis + m.band) {
      const band = this.bands.find((b) => b.start <= ms && ms < (b.end ?? Infinity));
      if (band) text += ` · ${band.label}`;
    }
    this.tooltip.textContent = text;
    this.tooltip.hidden = false;
    const left = Math.min(p.x + 12, p.width - this.tooltip.offsetWidth - 4);
    this.tooltip.style.left = `${Math.max(0, left)}px`;
    this.tooltip.style.top = `${p.y + 14}px`;
  }

  _hideTip() {
    this.tooltip.hidden = true;
  }
}
