// clock.js — every time the pages show, in the branch's time zone (the server's `timezone`,
// Asia/Shanghai by default), whatever the browser's own zone; storage and the API stay UTC.

let zone = "Asia/Shanghai";
let formatter = null;

/** Use the branch's zone from /api/v1/auth/me (`startPage` does, once the user is known). */
export function setZone(name) {
  if (name && name !== zone) {
    zone = name;
    formatter = null;
  }
}

export function branchZone() {
  return zone;
}

function parts(date) {
  formatter ??= new Intl.DateTimeFormat("en-CA", {
    timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23",
  });
  const fields = formatter.formatToParts(date);
  return Object.fromEntries(fields.map((part) => [part.type, part.value]));
}

/** Milliseconds the branch's clock is ahead of UTC at `ms`. */
export function zoneOffsetMs(ms) {
  const p = parts(new Date(ms));
  const shown = Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second);
  return shown - Math.floor(ms / 1000) * 1000;
}

/** The instant (ms) the branch's clock reads y-mo-d h:mi:s.ms (mo is 1-based). */
export function branchTimeMs(y, mo, d, h = 0, mi = 0, s = 0, ms = 0) {
  const asUtc = Date.UTC(y, mo - 1, d, h, mi, s, ms);
  return asUtc - zoneOffsetMs(asUtc - zoneOffsetMs(asUtc));
}

/** The branch clock's fields of an instant: {year, month, day, hour, minute, second} strings. */
export function branchParts(ms) {
  return parts(new Date(ms));
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
  const [y, mo, d] = day.split("-").map(Number);
  return branchTimeMs(y, mo, d);
}
