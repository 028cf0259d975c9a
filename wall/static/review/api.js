// api.js — the parts of the casewatch API the review page uses, and wall-time helpers.
//
// Wall times are numbers of milliseconds since the Unix epoch (fractions keep the server's
// microseconds); the API speaks ISO 8601 in UTC. Errors are the wall's `ApiError` (message and
// field from the server's JSON body, status 0 for a network failure).

import { ApiError, errorFrom } from "../js/api.js";
import { sessionFetch } from "../js/session.js";

export { ApiError };

const BASE = "/api/v1";

async function request(method, path, body) {
  const init = { method, headers: {} };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await sessionFetch(BASE + path, init);
  } catch (error) {
    throw new ApiError(error.message || "network error", 0);
  }
  if (!response.ok) throw await errorFrom(response);
  const text = await response.text();
  return text ? JSON.parse(text) : null;
}

const seg = (value) => encodeURIComponent(value);

function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") search.set(key, value);
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

/** ISO 8601 (…Z, any number of fraction digits) → epoch ms with the sub-ms fraction kept. */
export function parseIso(text) {
  if (!text) return null;
  const match = /^(.*?)(?:\.(\d+))?(Z|[+-]\d\d:?\d\d)$/.exec(text);
  if (!match) return Date.parse(text);
  const whole = Date.parse(match[1] + match[3]);
  const fraction = match[2] ? Number(`0.${match[2]}`) * 1000 : 0;
  return whole + fraction;
}

/** Epoch ms → ISO 8601 UTC with microseconds. */
export function iso(ms) {
  const whole = Math.floor(ms);
  const base = new Date(whole).toISOString(); // …sss Z
  const micro = Math.round((ms - whole) * 1000);
  return `${base.slice(0, 23)}${String(Math.min(999, micro)).padStart(3, "0")}Z`;
}

export const listCameras = async () => (await request("GET", "/cameras")).data;

export const searchCases = (params) => request("GET", `/cases${query(params)}`);
export const getCase = (number) => request("GET", `/cases/${seg(number)}`);
export const addTag = (number, body) => request("POST", `/cases/${seg(number)}/tags`, body);
export const sessionReport = (id) => request("GET", `/sessions/${seg(id)}/report`);

export const playbackIndex = (camera, startMs, endMs) =>
  request("GET", `/playback/${seg(camera)}/index${query({ start: iso(startMs), end: iso(endMs) })}`);

/** Whether this browser decodes H.265 in Media Source Extensions (most do only with hardware). */
export const H265_PLAYABLE =
  typeof MediaSource !== "undefined" &&
  MediaSource.isTypeSupported('video/mp4; codecs="hvc1.1.6.L120.90"');

/** URL of the playback stream of a camera from `startMs` (optionally to `endMs`); H.265 footage
 *  comes as H.264 to a browser that cannot decode it (the recording itself is untouched). */
export function playbackUrl(camera, startMs, endMs) {
  const params = { start: iso(startMs) };
  if (endMs) params.end = iso(endMs);
  if (!H265_PLAYABLE) params.video = "h264";
  return `${BASE}/playback/${seg(camera)}${query(params)}`;
}

// -- exports, holds and four-eyes approvals ------------------------------------------------------

export const caseExports = (number) => request("GET", `/cases/${seg(number)}/exports`);
/** Queue an export: `{}` is the whole case, `{sessions: [id]}` / `{tags: [id]}` one item. */
export const createExport = (number, body) =>
  request("POST", `/cases/${seg(number)}/exports`, body);
export const caseHolds = (number) => request("GET", `/cases/${seg(number)}/holds`);
export const requestRelease = (id, reason) => request("POST", `/holds/${seg(id)}/release`, { reason });
export const pendingApprovals = () => request("GET", "/approvals");
export const approveExport = (id) => request("POST", `/exports/${seg(id)}/approve`);
export const refuseExport = (id, reason) => request("POST", `/exports/${seg(id)}/refuse`, { reason });
export const approveRelease = (id) => request("POST", `/holds/${seg(id)}/approve-release`);
export const refuseRelease = (id, reason) =>
  request("POST", `/holds/${seg(id)}/refuse-release`, { reason });
