// kiosk.js — wall-screen (kiosk) mode from the page URL.
//
// `/wall/?cameras=ID,ID,...[&layout=3x3][&screen=NAME]` shows just those cameras, full window,
// without tree, panels or header (tile overlays stay). The grid defaults to the smallest that
// fits the cameras. With `screen=NAME` the page registers as that screen on the event stream and
// applies the `screen` events pushed to it by an operator (new cameras and layout); a screen
// page may start without cameras and wait for its first push.

import { fitSide, gridSide } from "./grids.js";

/** The requested grid, grown when it cannot hold every camera; the best fit when none. */
function sideFor(layout, count) {
  return Math.max(gridSide(layout) || 1, fitSide(count));
}

/** Kiosk options from the query string, or null for the operator page. */
export function kioskOptions(search = location.search) {
  const params = new URLSearchParams(search);
  const hasCameras = params.has("cameras");
  const screen = (params.get("screen") || "").trim() || null;
  if (!hasCameras && !screen) return null;
  const cameras = (params.get("cameras") || "")
    .split(",")
    .map((id) => id.trim())
    .filter(Boolean);
  return { cameras, side: sideFor(params.get("layout"), cameras.length), screen };
}

/** Apply a pushed `screen` event ({name, cameras, layout}) to the wall. */
export function applyScreenEvent(wall, event) {
  const cameras = (event.cameras || []).filter(Boolean);
  wall.setCells(cameras, sideFor(event.layout, cameras.length));
  document.body.dataset.screenPushedAt = new Date().toISOString();
}
