// model.js — what the wall knows: cameras (with live state and recording) and alarms.
//
// One `Model` per page. It is filled from `GET /api/v1/cameras` and `GET /api/v1/alarms`, then
// kept current by the event stream (`camera`, `recording`, `alarm` events). Views subscribe with
// `model.addEventListener(...)`: "cameras" (the list changed), "camera" (detail.id changed),
// "alarms" (any alarm changed).

export const AREA_ORDER = [
  "case_room",
  "interrogation",
  "inquiry",
  "waiting",
  "property",
  "handling",
  "corridor",
  "other",
];

/** Camera states in which no picture arrives from the camera. */
export const DOWN_STATES = new Set(["offline", "backoff", "stopped", "disabled"]);

function mergeAlarm(old, incoming) {
  if (!old) return { ...incoming };
  const merged = { ...old, ...incoming };
  for (const key of ["cleared_at", "acked_at", "acked_by"]) merged[key] = incoming[key] ?? old[key] ?? null;
  merged.active = merged.cleared_at == null && old.active !== false && incoming.active !== false;
  return merged;
}

export class Model extends EventTarget {
  constructor() {
    super();
    this.cameras = new Map();
    this.alarms = new Map();
  }

  _emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  camera(id) {
    return this.cameras.get(id) || null;
  }

  /**
   * Replace the camera list. A state learned from an event newer than the list is kept. Emits
   * "cameras" when cameras or their placement (name, site, area, room) changed, else "camera"
   * for each camera whose live fields changed.
   */
  setCameras(list) {
    const next = new Map();
    for (const camera of list) {
      const old = this.cameras.get(camera.id);
      const fresh = { ...camera };
      const listedUs = camera.since ? Date.parse(camera.since) * 1000 : 0;
      if (old && old._eventAtUs && listedUs < old._eventAtUs) {
        fresh.state = old.state;
        fresh.cause = old.cause;
        fresh.detail = old.detail;
        fresh._eventAtUs = old._eventAtUs;
      }
      next.set(camera.id, fresh);
    }
    const placement = (map) =>
      JSON.stringify([...map.values()].map((c) => [c.id, c.name, c.site, c.site_name, c.area, c.room]));
    const live = (c) => JSON.stringify([c.state, c.recording, c.session, c.audio, c.enabled]);
    const structural = placement(next) !== placement(this.cameras);
    const changed = structural
      ? []
      : [...next.values()].filter((c) => live(c) !== live(this.cameras.get(c.id))).map((c) => c.id);
    this.cameras = next;
    if (structural) this._emit("cameras");
    for (const id of changed) this._emit("camera", { id });
  }

  applyCameraEvent(event) {
    const camera = this.cameras.get(event.camera_id);
    if (!camera) return;
    camera.state = event.state;
    camera.cause = event.cause ?? null;
    camera.detail = event.detail ?? "";
    camera.since = event.at ?? camera.since;
    camera._eventAtUs = event.at_us ?? Date.now() * 1000;
    this._emit("camera", { id: camera.id });
  }

  applyRecordingEvent(event) {
    const camera = this.cameras.get(event.camera_id);
    if (!camera) return;
    camera.recording = Boolean(event.recording);
    this._emit("camera", { id: camera.id });
  }

  /**
   * An interrogation session opened or closed:
   * `{id, case_number, kind, since, camera_ids, status: "open"|"closed", end}`.
   */
  applySessionEvent(event) {
    const badge = { id: event.id, case_number: event.case_number, kind: event.kind, since: event.since };
    for (const id of event.camera_ids || []) {
      const camera = this.cameras.get(id);
      if (!camera) continue;
      if (event.status === "open") camera.session = badge;
      else if (!camera.session || camera.session.id === event.id) camera.session = null;
      this._emit("camera", { id });
    }
  }

  /** Merge alarms from the API or the event stream (an alarm never becomes active again). */
  mergeAlarms(list) {
    // keyed by `key`: an alarm raised while the catalog was away comes again once it has its id
    for (const alarm of list) {
      const key = alarm.key ?? alarm.id;
      this.alarms.set(key, mergeAlarm(this.alarms.get(key), alarm));
    }
    this._emit("alarms");
  }

  /** Active, unacknowledged alarms. */
  openAlarms() {
    return [...this.alarms.values()].filter((a) => a.active && !a.acked_at);
  }

  /** Camera ids with an open (active, unacknowledged) alarm. */
  alarmedCameras() {
    return new Set(this.openAlarms().map((a) => a.camera_id).filter(Boolean));
  }
}
