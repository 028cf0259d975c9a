// screens.js — "push to screen": send what the operator sees to a wall screen.
//
// Lists `GET /api/v1/wall/screens` (name, online or not) and pushes with
// `PUT /api/v1/wall/screens/{name}` `{cameras, layout}`. What is pushed: the full-screen tile
// alone (1x1) when one is full-screen, otherwise the current grid's cameras and grid. The
// server forwards it as a `screen` event to the kiosk page registered under that name.

import { listScreens, pushScreen } from "./api.js";
import { t } from "./i18n.js";

export class ScreenPanel {
  /** elements: {panel, select, push, refresh}; the list reloads whenever the panel opens. */
  constructor(elements, wall, { notify }) {
    this.el = elements;
    this.wall = wall;
    this.notify = notify;
    this.screens = [];
    elements.push.addEventListener("click", () => this.push());
    elements.refresh.addEventListener("click", () => this.refresh());
    elements.panel.addEventListener("toggle", () => {
      if (elements.panel.open) this.refresh();
    });
  }

  async refresh() {
    try {
      this.screens = await listScreens();
    } catch (error) {
      this.notify(error.message, true);
      return;
    }
    this.render();
  }

  render() {
    const select = this.el.select;
    const chosen = select.value;
    const options = this.screens.map((screen) => {
      const option = document.createElement("option");
      option.value = screen.name;
      const status = screen.connected ? t("screens.connected") : t("screens.disconnected");
      option.textContent = `${screen.name} · ${status}`;
      return option;
    });
    if (options.length === 0) {
      const option = document.createElement("option");
      option.value = "";
      option.textContent = t("screens.none");
      options.push(option);
    }
    select.replaceChildren(...options);
    if (this.screens.some((screen) => screen.name === chosen)) select.value = chosen;
  }

  /** What a push sends: {cameras, layout}. */
  content() {
    const wall = this.wall;
    if (wall.fullIndex !== null && wall.tiles[wall.fullIndex]?.cameraId) {
      return { cameras: [wall.tiles[wall.fullIndex].cameraId], layout: "1x1" };
    }
    return { cameras: wall.cells().filter(Boolean), layout: wall.grid };
  }

  async push() {
    const name = this.el.select.value;
    if (!name) return;
    const { cameras, layout } = this.content();
    try {
      await pushScreen(name, cameras, layout);
      this.notify(t("screens.pushed", { name }));
    } catch (error) {
      this.notify(error.message, true);
    }
  }
}
