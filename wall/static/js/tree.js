// tree.js — the camera tree: site (station) → area (room kind) → camera.
//
// Each camera row shows a live-state dot (live / stalled / offline …), its name and a recording
// dot; rows are draggable onto tiles (CAMERA_MIME) and a click puts the camera on the wall
// (`onPick(cameraId)`). A filter box narrows the tree by camera name, id or station. Cameras on
// the wall are marked. State changes re-render only the affected row.

import { t } from "./i18n.js";
import { AREA_ORDER } from "./model.js";
import { CAMERA_MIME } from "./tile.js";

export class CameraTree {
  constructor(container, filterInput, model, { onPick }) {
    this.container = container;
    this.filterInput = filterInput;
    this.model = model;
    this.onPick = onPick;
    this.onWall = new Set();
    this.collapsed = new Set();
    this.rows = new Map();
    this.siteCounts = new Map(); // site id → count element ("live/total")
    filterInput.addEventListener("input", () => this.render());
    model.addEventListener("cameras", () => this.render());
    model.addEventListener("camera", (event) => this._renderRow(event.detail.id));
  }

  setOnWall(cameraIds) {
    this.onWall = new Set(cameraIds.filter(Boolean));
    for (const id of this.rows.keys()) this._renderRow(id);
  }

  _matches(camera, needle) {
    if (!needle) return true;
    return [camera.name, camera.id, camera.site_name, camera.site, camera.room]
      .filter(Boolean)
      .some((text) => String(text).toLowerCase().includes(needle));
  }

  render() {
    const needle = this.filterInput.value.trim().toLowerCase();
    const sites = new Map();
    for (const camera of this.model.cameras.values()) {
      if (!this._matches(camera, needle)) continue;
      if (!sites.has(camera.site)) sites.set(camera.site, { name: camera.site_name, areas: new Map() });
      const areas = sites.get(camera.site).areas;
      if (!areas.has(camera.area)) areas.set(camera.area, []);
      areas.get(camera.area).push(camera);
    }
    this.rows.clear();
    this.siteCounts.clear();
    const nodes = [];
    for (const [siteId, site] of sites) {
      const siteEl = document.createElement("li");
      siteEl.className = "tree-site";
      siteEl.dataset.site = siteId;
      const head = document.createElement("button");
      head.type = "button";
      head.className = "tree-head";
      const cameras = [...site.areas.values()].flat();
      const live = cameras.filter((camera) => camera.state === "live").length;
      head.innerHTML = '<span class="caret"></span><span class="label"></span><span class="count"></span>';
      head.querySelector(".label").textContent = site.name || siteId;
      head.querySelector(".count").textContent = `${live}/${cameras.length}`;
      this.siteCounts.set(siteId, head.querySelector(".count"));
      const collapsed = this.collapsed.has(siteId) && !needle;
      siteEl.classList.toggle("collapsed", collapsed);
      head.addEventListener("click", () => {
        if (this.collapsed.has(siteId)) this.collapsed.delete(siteId);
        else this.collapsed.add(siteId);
        siteEl.classList.toggle("collapsed");
      });
      const areaList = document.createElement("ul");
      const areaIds = [...site.areas.keys()].sort(
        (a, b) => (AREA_ORDER.indexOf(a) + 99) % 99 - (AREA_ORDER.indexOf(b) + 99) % 99
      );
      for (const area of areaIds) {
        const areaEl = document.createElement("li");
        areaEl.className = "tree-area";
        const label = document.createElement("div");
        label.className = "tree-area-label";
        label.textContent = t(`area.${area}`) === `area.${area}` ? area : t(`area.${area}`);
        const list = document.createElement("ul");
        for (const camera of site.areas.get(area)) list.append(this._row(camera));
        areaEl.append(label, list);
        areaList.append(areaEl);
      }
      siteEl.append(head, areaList);
      nodes.push(siteEl);
    }
    if (nodes.length === 0) {
      const empty = document.createElement("li");
      empty.className = "tree-empty";
      empty.textContent = t("tree.empty");
      nodes.push(empty);
    }
    this.container.replaceChildren(...nodes);
  }

  _row(camera) {
    const row = document.createElement("li");
    row.className = "tree-camera";
    row.draggable = true;
    row.tabIndex = 0;
    row.dataset.cameraId = camera.id;
    row.innerHTML =
      '<span class="dot state-dot"></span><span class="name"></span><span class="dot rec-dot"></span>';
    row.addEventListener("click", () => this.onPick(camera.id));
    row.addEventListener("keydown", (event) => {
      if (event.key === "Enter") this.onPick(camera.id);
    });
    row.addEventListener("dragstart", (event) => {
      event.dataTransfer.setData(CAMERA_MIME, camera.id);
      event.dataTransfer.effectAllowed = "copy";
    });
    this.rows.set(camera.id, row);
    this._fill(row, camera);
    return row;
  }

  _renderRow(cameraId) {
    const row = this.rows.get(cameraId);
    const camera = this.model.camera(cameraId);
    if (!row || !camera) return;
    this._fill(row, camera);
    const count = this.siteCounts.get(camera.site);
    if (count) {
      const rows = [...this.rows.values()].filter(
        (other) => this.model.camera(other.dataset.cameraId)?.site === camera.site
      );
      const live = rows.filter((other) => other.dataset.state === "live").length;
      count.textContent = `${live}/${rows.length}`;
    }
  }

  _fill(row, camera) {
    const state = camera.state || "unknown";
    row.dataset.state = state;
    row.classList.toggle("on-wall", this.onWall.has(camera.id));
    row.querySelector(".name").textContent = camera.name;
    const stateLabel = t(`state.${state}`) === `state.${state}` ? state : t(`state.${state}`);
    row.title = `${camera.site_name || camera.site} · ${camera.name} (${camera.id}) — ${stateLabel}`;
    const stateDot = row.querySelector(".state-dot");
    stateDot.dataset.state = state;
    stateDot.title = stateLabel;
    const recDot = row.querySelector(".rec-dot");
    recDot.classList.toggle("on", Boolean(camera.recording));
    recDot.title = camera.recording ? t("rec.on") : t("rec.off");
  }
}
