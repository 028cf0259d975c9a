// tile.js — one tile of the wall: a camera's live video and its overlay.
//
// The overlay shows the camera name and station, a state badge (live / offline / stalled …),
// the recording indicator (red "录像"/"REC" dot, or a warning when not recording), the session
// badge ("审讯中 <case>") when the camera's room has an open interrogation session, and the
// player's connection message (connecting, retrying, server error). A tile with an open alarm
// gets a pulsing red border. The tile does not create players: the wall attaches a LivePlayer
// and takes it back (so players can move between tiles without reconnecting).
//
// DOM hooks: `data-tile-index`, `data-camera-id`, `data-state`, classes `selected`, `full`,
// `alarm`. Drag data types: CAMERA_MIME (camera id from the tree), TILE_MIME (tile index).

import { t } from "./i18n.js";
import { DOWN_STATES } from "./model.js";

export const CAMERA_MIME = "application/x-casewatch-camera";
export const TILE_MIME = "application/x-casewatch-tile";

function el(tag, className, parent) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (parent) parent.append(node);
  return node;
}

export class Tile {
  /**
   * handlers: onSelect(index), onToggleFull(index), onDropCamera(index, cameraId),
   * onSwap(from, to), onRemove(index), onAudio(index). `interactive` false disables drag/select.
   */
  constructor(index, model, handlers, { interactive = true } = {}) {
    this.index = index;
    this.model = model;
    this.handlers = handlers;
    this.interactive = interactive;
    this.cameraId = null;
    this.player = null;
    this.full = false;
    this.alarm = false;
    this._build();
  }

  _build() {
    const root = el("div", "tile");
    root.dataset.tileIndex = String(this.index);
    root.tabIndex = 0;
    this.root = root;
    this.videoBox = el("div", "tile-video", root);
    const overlay = el("div", "tile-overlay", root);
    const top = el("div", "tile-top", overlay);
    const title = el("div", "tile-title", top);
    this.nameEl = el("span", "tile-name", title);
    this.siteEl = el("span", "tile-site", title);
    const badges = el("div", "tile-badges", top);
    this.stateEl = el("span", "badge state", badges);
    this.recEl = el("span", "badge rec", badges);
    this.sessionEl = el("div", "badge session", overlay);
    this.messageEl = el("div", "tile-message", overlay);
    this.emptyEl = el("div", "tile-empty", overlay);
    const actions = el("div", "tile-actions", overlay);
    this.audioBtn = el("button", "tile-btn audio", actions);
    this.audioBtn.type = "button";
    this.audioBtn.addEventListener("click", (event) => {
      event.stopPropagation();
      this.handlers.onAudio?.(this.index);
    });
    this.removeBtn = el("button", "tile-btn remove", actions);
    this.removeBtn.type = "button";
    this.removeBtn.textContent = "✕";
    this.removeBtn.addEventListener("click", (event) => {
      event.stopPropagation();
      this.handlers.onRemove?.(this.index);
    });
    this.removeBtn.addEventListener("dblclick", (event) => event.stopPropagation());
    this.audioBtn.addEventListener("dblclick", (event) => event.stopPropagation());

    root.addEventListener("dblclick", () => this.handlers.onToggleFull?.(this.index));
    if (!this.interactive) return;
    root.addEventListener("click", () => this.handlers.onSelect?.(this.index));
    root.addEventListener("dragstart", (event) => {
      if (!this.cameraId) return event.preventDefault();
      event.dataTransfer.setData(TILE_MIME, String(this.index));
      event.dataTransfer.setData(CAMERA_MIME, this.cameraId);
      event.dataTransfer.effectAllowed = "move";
    });
    root.addEventListener("dragover", (event) => {
      const types = event.dataTransfer.types;
      if (types.includes(TILE_MIME) || types.includes(CAMERA_MIME)) {
        event.preventDefault();
        root.classList.add("drop-target");
      }
    });
    root.addEventListener("dragleave", () => root.classList.remove("drop-target"));
    root.addEventListener("drop", (event) => {
      event.preventDefault();
      root.classList.remove("drop-target");
      const from = event.dataTransfer.getData(TILE_MIME);
      if (from !== "") {
        const source = Number(from);
        if (source !== this.index) this.handlers.onSwap?.(source, this.index);
        return;
      }
      const cameraId = event.dataTransfer.getData(CAMERA_MIME);
      if (cameraId) this.handlers.onDropCamera?.(this.index, cameraId);
    });
  }

  /** Show `player` (a LivePlayer of `cameraId`) in this tile. */
  attach(cameraId, player) {
    this.cameraId = cameraId;
    this.player = player;
    if (player) {
      player.onStatus = () => this.render();
      this.videoBox.replaceChildren(player.video);
    }
    this.render();
  }

  /** Take the player away (the caller stops or re-attaches it); the tile becomes empty. */
  detach() {
    const player = this.player;
    this.cameraId = null;
    this.player = null;
    this.videoBox.replaceChildren();
    this.render();
    return player;
  }

  setIndex(index) {
    this.index = index;
    this.root.dataset.tileIndex = String(index);
  }

  setFull(full) {
    this.full = full;
    this.root.classList.toggle("full", full);
    this.render();
  }

  setSelected(selected) {
    this.root.classList.toggle("selected", selected);
  }

  setAlarm(alarm) {
    if (alarm === this.alarm) return;
    this.alarm = alarm;
    this.root.classList.toggle("alarm", alarm);
  }

  /** Refresh the overlay from the model and the player's status. */
  render() {
    const root = this.root;
    const camera = this.cameraId ? this.model.camera(this.cameraId) : null;
    root.draggable = this.interactive && Boolean(this.cameraId);
    root.classList.toggle("empty", !this.cameraId);
    if (this.cameraId) root.dataset.cameraId = this.cameraId;
    else delete root.dataset.cameraId;
    this.emptyEl.textContent = this.cameraId ? "" : this.interactive ? t("tile.empty") : "";
    this.removeBtn.hidden = !this.interactive || !this.cameraId;
    this.removeBtn.title = t("tile.close");
    if (!this.cameraId) {
      for (const node of [this.nameEl, this.siteEl, this.stateEl, this.recEl, this.messageEl]) {
        node.textContent = "";
      }
      this.sessionEl.hidden = true;
      this.stateEl.hidden = this.recEl.hidden = true;
      this.audioBtn.hidden = true;
      delete root.dataset.state;
      return;
    }
    const state = camera ? camera.state : "unknown";
    root.dataset.state = state;
    this.nameEl.textContent = camera ? camera.name : this.cameraId;
    this.siteEl.textContent = camera ? camera.site_name || camera.site || "" : "";
    this.stateEl.hidden = false;
    this.stateEl.dataset.state = state;
    this.stateEl.textContent = t(`state.${state}`) === `state.${state}` ? state : t(`state.${state}`);
    this.recEl.hidden = !camera;
    const recording = Boolean(camera && camera.recording);
    this.recEl.classList.toggle("on", recording);
    this.recEl.classList.toggle("off", !recording);
    this.recEl.textContent = recording ? t("rec.on") : `⚠ ${t("rec.off")}`;
    const session = camera && camera.session;
    this.sessionEl.hidden = !session;
    this.sessionEl.textContent = session
      ? t("session.badge", { case: session.case_number || session.id || "" })
      : "";
    if (this.player) this.player.setExpectFrames(state === "live");
    this.messageEl.textContent = this._message(state);
    this.messageEl.classList.toggle("error", this.player?.status.phase === "retrying");
    const canAudio = this.full && camera && camera.audio;
    this.audioBtn.hidden = !canAudio;
    if (canAudio) {
      const on = Boolean(this.player && this.player.audio);
      this.audioBtn.textContent = on ? t("tile.mute") : t("tile.unmute");
      this.audioBtn.classList.toggle("on", on);
    }
  }

  _message(state) {
    const status = this.player ? this.player.status : { phase: "idle" };
    if (status.phase === "retrying") {
      const seconds = Math.max(1, Math.round((status.retryInMs || 0) / 1000));
      return `${t("tile.error", { msg: status.message || "" })} · ${t("tile.retry", { s: seconds })}`;
    }
    if (DOWN_STATES.has(state)) return t("tile.offline");
    if (status.phase === "connecting") return t("tile.connecting");
    return "";
  }
}
