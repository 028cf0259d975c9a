// events.js — the server's event stream (Server-Sent Events) feeding the model.
//
// `connectEvents(model, {screen, onScreen, onReconnect, onStatus})` opens `GET /api/v1/events`
// (with `?screen=NAME` on a wall screen, which registers it) and routes `camera`, `recording`,
// `alarm`, `session` and `screen` events. EventSource reconnects by itself; when it does, the
// server replays every camera's state, and `onReconnect` lets the page reload what the stream
// does not replay (alarms, the camera list).

import { eventsUrl } from "./api.js";
import { currentUser, signInAgain } from "./session.js";

function parse(message) {
  try {
    return JSON.parse(message.data);
  } catch {
    console.warn("casewatch: bad event", message.type, message.data);
    return null;
  }
}

export function connectEvents(model, { screen = null, onScreen, onReconnect, onStatus } = {}) {
  const source = new EventSource(eventsUrl(screen));
  let opened = false;
  const on = (type, handler) =>
    source.addEventListener(type, (message) => {
      const data = parse(message);
      if (data) handler(data);
    });
  on("camera", (data) => model.applyCameraEvent(data));
  on("recording", (data) => model.applyRecordingEvent(data));
  on("alarm", (data) => model.mergeAlarms([data]));
  on("session", (data) => model.applySessionEvent(data));
  on("screen", (data) => {
    if (onScreen && (!screen || data.name === screen)) onScreen(data);
  });
  source.addEventListener("open", () => {
    if (opened && onReconnect) onReconnect();
    opened = true;
    if (onStatus) onStatus(true);
  });
  source.addEventListener("error", () => {
    if (onStatus) onStatus(false);
    // EventSource gives up for good on a 401: when the sign-in has ended, go and sign in
    if (source.readyState === EventSource.CLOSED) {
      currentUser().then((user) => (user ? setTimeout(() => location.reload(), 5000) : signInAgain()));
    }
  });
  return source;
}
