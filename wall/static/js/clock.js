// clock.js — every time the pages show, in the branch's time zone (the server's `timezone`,
// Asia/Shanghai by default), whatever the browser's own zone; storage and the API stay UTC.

let zone = "Asia/Shanghai";

/** Use the branch's zone from /api/v1/auth/me (call once the user is known). */
export function setZone(name) {
  if (name) zone = name;
}

export function branchZone() {
  return zone;
}

function parts(date) {
  const fields = new Intl.DateTimeFormat("en-CA", {
    timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23",
  }).formatToParts(date);
  return Object.fromEntries(fields.map((part) => [part.type, part.value]));
}

/** "2026-12-07 09:30:05" of an ISO instant (or a Date), in the branch's zone. */
export function formatTime(value, { seconds = true } = {}) {
  if (!value) return "";
  const p = parts(value instanceof Date ? value : new Date(value));
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}${seconds ? `:${p.second}` : ""}`;
}

/** "2026-12-07": the branch's day of an instant (default: now). */
export function branchDay(value = new Date()) {
  const p = parts(value instanceof Date ? value : new Date(value));
  return `${p.year}-${p.month}-${p.day}`;
}

/** The day `days` before `day` ("YYYY-MM-DD" arithmetic, no zone involved). */
export function dayBefore(day, days) {
  const date = new Date(`${day}T00:00:00Z`);
  date.setUTCDate(date.getUTCDate() - days);
  return date.toISOString().slice(0, 10);
}

/** The UTC instant (ms) at which branch day `day` ("YYYY-MM-DD") begins. */
export function dayStartMs(day) {
  const guess = Date.parse(`${day}T00:00:00Z`);
  // the zone's offset at that moment: what the branch's clock reads then, minus UTC's
  const p = parts(new Date(guess));
  const shown = Date.parse(`${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}:${p.second}Z`);
  return guess - (shown - guess);
}
