// alarms.js — the alarm panel and the header's count of unacknowledged alarms.
//
// Rows come from the model (loaded from `GET /api/v1/alarms?active=true`, then `alarm` events on
// raise, clear and acknowledge). Each row shows time, camera, station, kind and status, with an
// Acknowledge button while unacknowledged. Order: open (active, unacknowledged) first, then
// acknowledged, then cleared; newest first within each. Rows carry `data-alarm-id`,
// `data-camera-id`, `data-kind`, `data-active` and `data-acked`.

import { ackAlarm } from "./api.js";
import { branchDay, formatTime } from "./clock.js";
import { t } from "./i18n.js";

const KEEP_CLEARED = 50;

function rank(alarm) {
  if (alarm.active && !alarm.acked_at) return 0;
  if (alarm.active) return 1;
  return 2;
}

/** The alarm's time in the branch's zone; the date only when it is not today. */
function alarmTime(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const shown = formatTime(date);
  return branchDay(date) === branchDay() ? shown.slice(11) : shown;
}

export class AlarmPanel {
  /** `list` is the panel's <ol> (may be null in kiosk mode), `counter` the header badge. */
  constructor(list, counter, model, { onError = () => {}, onLocate = () => {} } = {}) {
    this.list = list;
    this.counter = counter;
    this.model = model;
    this.onError = onError;
    this.onLocate = onLocate;
    model.addEventListener("alarms", () => this.render());
    model.addEventListener("cameras", () => this.render());
  }

  async acknowledge(id, button) {
    button.disabled = true;
    try {
      const alarm = await ackAlarm(id);
      if (alarm && alarm.id) this.model.mergeAlarms([alarm]);
    } catch (error) {
      button.disabled = false;
      this.onError(error.message);
    }
  }

  _prune() {
    const cleared = [...this.model.alarms.values()]
      .filter((alarm) => !alarm.active)
      .sort((a, b) => String(b.raised_at).localeCompare(String(a.raised_at)));
    for (const alarm of cleared.slice(KEEP_CLEARED)) this.model.alarms.delete(alarm.key ?? alarm.id);
  }

  render() {
    this._prune();
    const open = this.model.openAlarms().length;
    if (this.counter) {
      this.counter.textContent = String(open);
      this.counter.dataset.count = String(open);
      this.counter.classList.toggle("hot", open > 0);
      this.counter.title = t("alarms.count.title");
    }
    if (!this.list) return;
    const alarms = [...this.model.alarms.values()].sort(
      (a, b) => rank(a) - rank(b) || String(b.raised_at).localeCompare(String(a.raised_at))
    );
    if (alarms.length === 0) {
      const empty = document.createElement("li");
      empty.className = "alarm-empty";
      empty.textContent = t("alarms.empty");
      this.list.replaceChildren(empty);
      return;
    }
    this.list.replaceChildren(...alarms.map((alarm) => this._row(alarm)));
  }

  _row(alarm) {
    const camera = alarm.camera_id ? this.model.camera(alarm.camera_id) : null;
    const row = document.createElement("li");
    row.className = "alarm-row";
    row.dataset.alarmId = String(alarm.id);
    row.dataset.cameraId = alarm.camera_id || "";
    row.dataset.kind = alarm.kind;
    row.dataset.active = String(Boolean(alarm.active));
    row.dataset.acked = String(Boolean(alarm.acked_at));
    row.innerHTML =
      '<div class="alarm-line"><span class="alarm-kind"></span><time class="alarm-time"></time></div>' +
      '<div class="alarm-line"><span class="alarm-camera"></span><span class="alarm-site"></span></div>' +
      '<div class="alarm-line"><span class="alarm-status"></span></div>';
    const kind = t(`alarm.${alarm.kind}`);
    row.querySelector(".alarm-kind").textContent = kind === `alarm.${alarm.kind}` ? alarm.kind : kind;
    const time = row.querySelector(".alarm-time");
    time.dateTime = alarm.raised_at || "";
    time.textContent = alarmTime(alarm.raised_at);
    const cameraEl = row.querySelector(".alarm-camera");
    cameraEl.textContent = (camera && camera.name) || alarm.camera_name || alarm.camera_id || "—";
    cameraEl.title = alarm.camera_id || "";
    row.querySelector(".alarm-site").textContent =
      (camera && camera.site_name) || alarm.site_name || alarm.site || "";
    const status = row.querySelector(".alarm-status");
    const parts = [alarm.active ? t("alarms.active") : `${t("alarms.cleared")} ${alarmTime(alarm.cleared_at)}`];
    if (alarm.acked_at) {
      parts.push(`${t("alarms.acked")}${alarm.acked_by ? ` (${alarm.acked_by})` : ""}`);
    }
    status.textContent = parts.join(" · ");
    if (alarm.detail) row.title = alarm.detail;
    if (!alarm.acked_at && alarm.id != null) {  // no id yet: the catalog is away, ack waits
      const button = document.createElement("button");
      button.type = "button";
      button.className = "alarm-ack needs-alarms_ack";
      button.textContent = t("alarms.ack");
      button.addEventListener("click", (event) => {
        event.stopPropagation();
        this.acknowledge(alarm.id, button);
      });
      row.querySelector(".alarm-line:last-child").append(button);
    }
    if (alarm.camera_id) row.addEventListener("dblclick", () => this.onLocate(alarm.camera_id));
    return row;
  }
}
