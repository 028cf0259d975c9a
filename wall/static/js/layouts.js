// layouts.js — grid size buttons (1, 4, 9, 16, 25, 36 tiles) and named layouts saved on the
// server (`/api/v1/wall/layouts`): save the current grid and cells under a name, load, delete.
//
// `LayoutPanel.layouts` is the last list fetched; the tour panel reads it for layout steps.

import { deleteLayout, listLayouts, saveLayout } from "./api.js";
import { t } from "./i18n.js";
import { gridSide } from "./grids.js";

/** The 1/4/9/16/25/36 buttons; each shows a miniature grid. */
export function renderGridButtons(container, wall) {
  const buttons = [];
  for (let side = 1; side <= 6; side += 1) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "grid-btn";
    button.dataset.grid = `${side}x${side}`;
    button.style.setProperty("--side", String(side));
    const icon = document.createElement("span");
    icon.className = "grid-icon";
    for (let i = 0; i < side * side; i += 1) icon.append(document.createElement("i"));
    const label = document.createElement("span");
    label.textContent = String(side * side);
    button.append(icon, label);
    button.addEventListener("click", () => wall.setSide(side));
    buttons.push(button);
  }
  container.replaceChildren(...buttons);
  const update = () => {
    for (const button of buttons) {
      const side = Number(button.style.getPropertyValue("--side"));
      button.classList.toggle("active", side === wall.side);
      button.title = t("layout.grid", { n: side * side });
    }
  };
  update();
  return update;
}

export class LayoutPanel {
  /** elements: {select, name, save, load, remove}; notify(message, isError) shows a toast. */
  constructor(elements, wall, { notify, onListChange = () => {} }) {
    this.el = elements;
    this.wall = wall;
    this.notify = notify;
    this.onListChange = onListChange;
    this.layouts = [];
    elements.save.addEventListener("click", () => this.save());
    elements.load.addEventListener("click", () => this.load(elements.select.value));
    elements.remove.addEventListener("click", () => this.remove(elements.select.value));
    elements.select.addEventListener("change", () => {
      if (elements.select.value) elements.name.value = elements.select.value;
    });
    elements.select.addEventListener("dblclick", () => this.load(elements.select.value));
  }

  async refresh() {
    try {
      this.layouts = await listLayouts();
    } catch (error) {
      this.notify(error.message, true);
      return;
    }
    this.render();
    this.onListChange(this.layouts);
  }

  render() {
    const select = this.el.select;
    const chosen = select.value;
    const options = this.layouts.map((layout) => {
      const option = document.createElement("option");
      option.value = layout.name;
      option.textContent = `${layout.name} (${layout.grid})`;
      return option;
    });
    if (options.length === 0) {
      const option = document.createElement("option");
      option.value = "";
      option.textContent = t("layouts.none");
      options.push(option);
    }
    select.replaceChildren(...options);
    if (this.layouts.some((layout) => layout.name === chosen)) select.value = chosen;
  }

  async save() {
    const name = this.el.name.value.trim();
    if (!name) {
      this.el.name.focus();
      return;
    }
    try {
      await saveLayout(name, this.wall.grid, this.wall.cells());
      this.notify(t("layouts.saved", { name }));
      await this.refresh();
      this.el.select.value = name;
    } catch (error) {
      this.notify(error.message, true);
    }
  }

  find(name) {
    return this.layouts.find((layout) => layout.name === name) || null;
  }

  /** Show a saved layout on the wall. */
  apply(layout) {
    const side = gridSide(layout.grid) || undefined;
    this.wall.setCells(layout.cells || [], side);
  }

  async load(name) {
    if (!name) return;
    await this.refresh();
    const layout = this.find(name);
    if (layout) this.apply(layout);
  }

  async remove(name) {
    if (!name) return;
    try {
      await deleteLayout(name);
      this.notify(t("layouts.deleted", { name }));
    } catch (error) {
      this.notify(error.message, true);
    }
    await this.refresh();
  }
}
