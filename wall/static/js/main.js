// main.js — composition root of the video wall page.
//
// Operator page: header (grid buttons, running tour, alarm count, clock, language), camera tree
// and layout / tour / screen panels on the left, the wall in the middle, alarms on the right.
// Kiosk page (?cameras=… and/or ?screen=…): the wall alone, full window. Both load cameras and
// active alarms, follow the event stream, and expose the test hook `window.casewatch`.

import { landingPage, startPage } from "./session.js";
import { formatTime } from "./clock.js";
import { listActiveAlarms, listCameras } from "./api.js";
import { AlarmPanel } from "./alarms.js";
import { connectEvents } from "./events.js";
import { fitSide } from "./grids.js";
import { applyI18n, getLang, onLangChange, setLang, t } from "./i18n.js";
import { applyScreenEvent, kioskOptions } from "./kiosk.js";
import { LayoutPanel, renderGridButtons } from "./layouts.js";
import { Model } from "./model.js";
import { ScreenPanel } from "./screens.js";
import { TourPanel, TourRunner } from "./tours.js";
import { CameraTree } from "./tree.js";
import { Wall } from "./wall.js";

const WALL_KEY = "casewatch.wall";
const CAMERA_REFRESH_MS = 30000;
const $ = (id) => document.getElementById(id);

function notify(message, isError = false) {
  const toast = document.createElement("div");
  toast.className = `toast${isError ? " error" : ""}`;
  toast.textContent = message;
  $("toasts").append(toast);
  setTimeout(() => toast.remove(), isError ? 8000 : 4000);
}

async function loadCameras(model) {
  for (let delay = 500; ; delay = Math.min(delay * 2, 5000)) {
    try {
      model.setCameras(await listCameras());
      return;
    } catch (error) {
      console.warn("casewatch: cameras:", error.message);
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}

async function loadAlarms(model) {
  try {
    model.mergeAlarms(await listActiveAlarms());
  } catch (error) {
    console.warn("casewatch: alarms:", error.message);
  }
}

function rememberWall(wall) {
  try {
    localStorage.setItem(WALL_KEY, JSON.stringify({ side: wall.side, cells: wall.cells() }));
  } catch {
    // not remembered
  }
}

function restoredWall() {
  try {
    const saved = JSON.parse(localStorage.getItem(WALL_KEY) || "null");
    if (saved && Array.isArray(saved.cells) && saved.side >= 1 && saved.side <= 6) return saved;
  } catch {
    // ignore a corrupt entry
  }
  return null;
}

function startClock() {
  const clock = $("clock");
  const tick = () => {
    const now = new Date();
    clock.dateTime = now.toISOString();
    clock.textContent = formatTime(now);
  };
  tick();
  setInterval(tick, 1000);
}

function setupOperator(model, wall) {
  const tree = new CameraTree($("tree"), $("tree-filter"), model, {
    onPick: (cameraId) => wall.place(cameraId),
  });
  const updateGridButtons = renderGridButtons($("grid-buttons"), wall);
  const runner = new TourRunner(wall, { notify });
  const tourPanel = new TourPanel(
    {
      list: $("tour-list"),
      name: $("tour-name"),
      interval: $("tour-interval"),
      steps: $("tour-steps"),
      addCurrent: $("tour-add-current"),
      layoutSelect: $("tour-layout-select"),
      addLayout: $("tour-add-layout"),
      save: $("tour-save"),
    },
    wall,
    runner,
    { notify }
  );
  const layoutPanel = new LayoutPanel(
    {
      select: $("layout-select"),
      name: $("layout-name"),
      save: $("layout-save"),
      load: $("layout-load"),
      remove: $("layout-delete"),
    },
    wall,
    { notify, onListChange: (layouts) => tourPanel.setLayouts(layouts) }
  );
  const screenPanel = new ScreenPanel(
    {
      panel: $("screens-panel"),
      select: $("screen-select"),
      push: $("screen-push"),
      refresh: $("screen-refresh"),
    },
    wall,
    { notify }
  );
  const alarms = new AlarmPanel($("alarm-list"), $("alarm-counter"), model, {
    onError: (message) => notify(message, true),
    onLocate: (cameraId) => {
      let index = wall.cells().indexOf(cameraId);
      if (index < 0) {
        wall.place(cameraId);
        index = wall.cells().indexOf(cameraId);
      }
      if (index >= 0) wall.enterFull(index);
    },
  });
  $("alarm-counter").addEventListener("click", () => {
    const panel = $("alarm-panel");
    panel.querySelector(".alarm-row[data-acked='false']")?.scrollIntoView({ block: "nearest" });
    panel.classList.remove("flash");
    void panel.offsetWidth; // restart the animation
    panel.classList.add("flash");
  });

  const indicator = $("tour-indicator");
  runner.onChange = () => {
    indicator.hidden = !runner.running;
    $("tour-indicator-label").textContent = runner.running
      ? t("tours.running", { name: runner.running })
      : "";
    tourPanel.render();
  };
  $("tour-indicator-stop").addEventListener("click", () => runner.stop());

  wall.onChange = () => {
    updateGridButtons();
    tree.setOnWall(wall.cells());
    if (!runner.running) rememberWall(wall);
  };
  onLangChange(() => {
    tree.render();
    alarms.render();
    layoutPanel.render();
    tourPanel.render();
    screenPanel.render();
    updateGridButtons();
    runner.onChange();
    wall.tiles.forEach((tile) => tile.render());
  });

  $("tours-panel").addEventListener("toggle", () => {
    if ($("tours-panel").open) tourPanel.refresh();
  });
  $("layouts-panel").addEventListener("toggle", () => {
    if ($("layouts-panel").open) layoutPanel.refresh();
  });

  const saved = restoredWall();
  if (saved) wall.setCells(saved.cells, saved.side);
  model.addEventListener(
    "cameras",
    () => {
      if (!saved && wall.cells().every((cell) => !cell)) {
        const first = [...model.cameras.keys()].slice(0, 4);
        wall.setCells(first, 2);
      }
    },
    { once: true }
  );
  layoutPanel.refresh();
  tourPanel.refresh();
  screenPanel.refresh();
  alarms.render();
  tree.render();
  return { tree, runner, tourPanel, layoutPanel, screenPanel, alarms };
}

function setupKiosk(model, wall, options) {
  document.body.classList.add("kiosk");
  new AlarmPanel(null, null, model);
  const waiting = $("kiosk-waiting");
  const updateWaiting = () => {
    const empty = wall.cells().every((cell) => !cell);
    waiting.hidden = !(empty && options.screen);
    waiting.textContent = t("kiosk.waiting", { name: options.screen || "" });
  };
  wall.onChange = updateWaiting;
  onLangChange(() => {
    updateWaiting();
    wall.tiles.forEach((tile) => tile.render());
  });
  wall.setCells(options.cameras, options.side || fitSide(options.cameras.length));
  if (options.screen) document.body.dataset.screen = options.screen;
  return {};
}

async function main() {
  applyI18n(document);
  const user = await startPage({ getLang, setLang }, { watermark: true });
  if (user && !user.permissions.includes("live_view")) {
    location.replace(landingPage(user)); // the wall is for those who watch live
    return;
  }
  const model = new Model();
  const kiosk = kioskOptions();
  const wall = new Wall($("wall"), model, { interactive: !kiosk });
  const parts = kiosk ? setupKiosk(model, wall, kiosk) : setupOperator(model, wall);
  if (!kiosk) startClock();

  // The event stream opens once the cameras are known: its first events (every camera's state
  // and recording flag now) then apply to them, with no window for a change to be lost.
  loadCameras(model).then(() => {
    loadAlarms(model);
    startEvents(model, wall, kiosk);
  });
  setInterval(() => listCameras().then((list) => model.setCameras(list), () => {}), CAMERA_REFRESH_MS);

  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") wall.exitFull();
  });
  window.addEventListener("pagehide", () => wall.stopAll());

  window.casewatch = {
    model,
    wall,
    ...parts,
    tileStats: () => wall.stats(),
  };
  document.body.dataset.ready = "true";
}

function startEvents(model, wall, kiosk) {
  connectEvents(model, {
    screen: kiosk ? kiosk.screen : null,
    onScreen: kiosk ? (event) => applyScreenEvent(wall, event) : null,
    onReconnect: () => {
      loadCameras(model);
      loadAlarms(model);
    },
    onStatus: (ok) => {
      $("events-status").hidden = ok;
      document.body.dataset.events = ok ? "open" : "lost";
    },
  });
}

main();
