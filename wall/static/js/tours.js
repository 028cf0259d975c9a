// tours.js — tours (轮巡): named sequences of wall contents shown in turn every N seconds.
//
// A tour is stored on the server (`/api/v1/wall/tours`) as
// `{name, interval_seconds, steps: [{cameras: [...], grid: "2x2"} | {layout: name}]}`.
// `TourRunner` plays one tour on the wall and marks it in `document.body.dataset.tour`;
// `TourPanel` lists tours (start / stop / delete) and builds new ones from the current grid and
// from saved layouts.

import { deleteTour, listLayouts, listTours, saveTour } from "./api.js";
import { t } from "./i18n.js";
import { gridSide } from "./grids.js";

export class TourRunner {
  constructor(wall, { onChange = () => {}, notify = () => {} } = {}) {
    this.wall = wall;
    this.onChange = onChange;
    this.notify = notify;
    this.tour = null;
    this.step = 0;
    this.timer = null;
    this.layouts = [];
  }

  get running() {
    return this.tour ? this.tour.name : null;
  }

  async start(tour) {
    this.stop(false);
    if (!tour.steps || tour.steps.length === 0) {
      this.notify(t("tours.needSteps"), true);
      return;
    }
    if (tour.steps.some((step) => step.layout)) {
      try {
        this.layouts = await listLayouts();
      } catch (error) {
        this.notify(error.message, true);
      }
    }
    this.tour = tour;
    this.step = 0;
    document.body.dataset.tour = tour.name;
    this._show();
    const interval = Math.max(1, Number(tour.interval_seconds) || 10) * 1000;
    this.timer = setInterval(() => {
      this.step = (this.step + 1) % this.tour.steps.length;
      this._show();
    }, interval);
    this.onChange();
  }

  stop(notify = true) {
    clearInterval(this.timer);
    this.timer = null;
    const was = this.tour;
    this.tour = null;
    delete document.body.dataset.tour;
    if (was && notify) this.onChange();
  }

  _show() {
    const step = this.tour.steps[this.step];
    document.body.dataset.tourStep = String(this.step);
    if (step.layout) {
      const layout = this.layouts.find((item) => item.name === step.layout);
      if (!layout) {
        this.notify(`${t("tours.stepLayout", { name: step.layout })}: 404`, true);
        return;
      }
      this.wall.setCells(layout.cells || [], gridSide(layout.grid) || undefined);
      return;
    }
    const cameras = step.cameras || [];
    this.wall.setCells(cameras, gridSide(step.grid) || undefined);
  }
}

export class TourPanel {
  /** elements: {list, name, interval, steps, addCurrent, layoutSelect, addLayout, save}. */
  constructor(elements, wall, runner, { notify }) {
    this.el = elements;
    this.wall = wall;
    this.runner = runner;
    this.notify = notify;
    this.tours = [];
    this.draft = [];
    elements.addCurrent.addEventListener("click", () => {
      this.draft.push({ cameras: wall.cells().filter(Boolean), grid: wall.grid });
      this.renderDraft();
    });
    elements.addLayout.addEventListener("click", () => {
      const name = elements.layoutSelect.value;
      if (!name) return;
      this.draft.push({ layout: name });
      this.renderDraft();
    });
    elements.save.addEventListener("click", () => this.save());
  }

  async refresh() {
    try {
      this.tours = await listTours();
    } catch (error) {
      this.notify(error.message, true);
      return;
    }
    this.render();
  }

  setLayouts(layouts) {
    const options = layouts.map((layout) => {
      const option = document.createElement("option");
      option.value = layout.name;
      option.textContent = layout.name;
      return option;
    });
    this.el.layoutSelect.replaceChildren(...options);
  }

  _describe(step) {
    if (step.layout) return t("tours.stepLayout", { name: step.layout });
    return t("tours.stepCameras", { n: (step.cameras || []).length, grid: step.grid || "auto" });
  }

  render() {
    const running = this.runner.running;
    const rows = this.tours.map((tour) => {
      const row = document.createElement("li");
      row.className = "tour-row";
      row.dataset.tourName = tour.name;
      row.classList.toggle("running", running === tour.name);
      const info = document.createElement("div");
      info.className = "tour-info";
      const name = document.createElement("strong");
      name.textContent = tour.name;
      const meta = document.createElement("small");
      meta.textContent = t("tours.steps", { n: tour.steps.length, s: tour.interval_seconds });
      info.append(name, meta);
      const toggle = document.createElement("button");
      toggle.type = "button";
      toggle.className = running === tour.name ? "tour-stop" : "tour-start";
      toggle.textContent = running === tour.name ? t("tours.stop") : t("tours.start");
      toggle.addEventListener("click", () => {
        if (this.runner.running === tour.name) this.runner.stop();
        else this.runner.start(tour);
      });
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "tour-delete danger";
      remove.textContent = "✕";
      remove.title = t("tours.delete");
      remove.addEventListener("click", async () => {
        if (this.runner.running === tour.name) this.runner.stop();
        try {
          await deleteTour(tour.name);
        } catch (error) {
          this.notify(error.message, true);
        }
        this.refresh();
      });
      row.append(info, toggle, remove);
      return row;
    });
    if (rows.length === 0) {
      const empty = document.createElement("li");
      empty.className = "muted";
      empty.textContent = t("tours.none");
      rows.push(empty);
    }
    this.el.list.replaceChildren(...rows);
    this.renderDraft();
  }

  renderDraft() {
    const items = this.draft.map((step, index) => {
      const item = document.createElement("li");
      item.textContent = `${index + 1}. ${this._describe(step)}`;
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "mini";
      remove.textContent = "✕";
      remove.addEventListener("click", () => {
        this.draft.splice(index, 1);
        this.renderDraft();
      });
      item.append(remove);
      return item;
    });
    this.el.steps.replaceChildren(...items);
  }

  async save() {
    const name = this.el.name.value.trim();
    if (!name) {
      this.el.name.focus();
      return;
    }
    if (this.draft.length === 0) {
      this.notify(t("tours.needSteps"), true);
      return;
    }
    const interval = Number(this.el.interval.value) || 10;
    try {
      await saveTour(name, interval, this.draft);
      this.notify(t("tours.saved", { name }));
      this.draft = [];
      await this.refresh();
    } catch (error) {
      this.notify(error.message, true);
    }
  }
}
