// api.js — the casewatch HTTP API as small async functions.
//
// Every call goes to the same origin under /api/v1. Failures throw `ApiError` carrying the
// server's `{"error", "field"}` message and the HTTP status (0 for a network failure, e.g. while
// the server restarts), so callers can show the message where the user looks.

import { sessionFetch } from "./session.js";

const BASE = "/api/v1";

export class ApiError extends Error {
  constructor(message, status = 0, field = null) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.field = field;
  }
}

/** Turn a non-2xx response into an ApiError with the server's message. */
export async function errorFrom(response) {
  let message = `HTTP ${response.status}`;
  let field = null;
  try {
    const body = await response.json();
    if (body && typeof body.error === "string") message = body.error;
    else if (body && typeof body.detail === "string") message = body.detail;
    if (body && typeof body.field === "string") field = body.field;
  } catch {
    // not JSON: keep the status line
  }
  return new ApiError(message, response.status, field);
}

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
  if (response.status === 204) return null;
  const text = await response.text();
  return text ? JSON.parse(text) : null;
}

const seg = (name) => encodeURIComponent(name);

export const listCameras = async () => (await request("GET", "/cameras")).data;
export const listActiveAlarms = async () => (await request("GET", "/alarms?active=true")).data;
export const ackAlarm = (id) => request("POST", `/alarms/${seg(id)}/ack`);

export const listLayouts = async () => (await request("GET", "/wall/layouts")).data;
export const saveLayout = (name, grid, cells) =>
  request("PUT", `/wall/layouts/${seg(name)}`, { grid, cells });
export const deleteLayout = (name) => request("DELETE", `/wall/layouts/${seg(name)}`);

export const listTours = async () => (await request("GET", "/wall/tours")).data;
export const saveTour = (name, intervalSeconds, steps) =>
  request("PUT", `/wall/tours/${seg(name)}`, { interval_seconds: intervalSeconds, steps });
export const deleteTour = (name) => request("DELETE", `/wall/tours/${seg(name)}`);

export const listScreens = async () => (await request("GET", "/wall/screens")).data;
export const pushScreen = (name, cameras, layout) =>
  request("PUT", `/wall/screens/${seg(name)}`, { cameras, layout });

/** URL of the WHEP endpoint of one camera. */
export function whepUrl(cameraId, stream, audio) {
  const query = new URLSearchParams({ stream, audio: audio ? "1" : "0" });
  return `${BASE}/live/${seg(cameraId)}/whep?${query}`;
}

/** URL of the event stream; `screen` registers this page as that wall screen. */
export function eventsUrl(screen) {
  return screen ? `${BASE}/events?screen=${seg(screen)}` : `${BASE}/events`;
}
