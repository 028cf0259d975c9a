// wall.js — the grid of tiles: layout size, cell assignment, swap, full-screen tile, stats.
//
// The wall owns the LivePlayers. Grid tiles play `stream=sub` (the server falls back to main
// for a camera without substream); the full-screen tile — and the single tile of a 1x1 grid —
// plays `stream=main`. When cells change (layout change, tour step, swap), players of cameras
// that stay on the wall move to their new tile instead of reconnecting.
//
// `onChange()` fires after every change of the cells, so the page can remember / show them.

import { LivePlayer } from "./whep.js";
import { Tile } from "./tile.js";
import { fitSide, gridName } from "./grids.js";

export class Wall {
  constructor(container, model, { interactive = true, onChange = () => {} } = {}) {
    this.container = container;
    this.model = model;
    this.interactive = interactive;
    this.onChange = onChange;
    this.tiles = [];
    this.side = 0;
    this.selected = null;
    this.fullIndex = null;
    this.nextIndex = 0;
    this.handlers = {
      onSelect: (index) => this.select(this.selected === index ? null : index),
      onToggleFull: (index) => this.toggleFull(index),
      onDropCamera: (index, cameraId) => this.assign(index, cameraId),
      onSwap: (from, to) => this.swap(from, to),
      onRemove: (index) => this.assign(index, null),
      onAudio: (index) => this.toggleAudio(index),
    };
    model.addEventListener("camera", (event) => this._renderCamera(event.detail.id));
    model.addEventListener("cameras", () => this.tiles.forEach((tile) => tile.render()));
    model.addEventListener("alarms", () => this.refreshAlarms());
    this.setSide(1);
  }

  get grid() {
    return gridName(this.side);
  }

  /** Camera ids of the cells (null for an empty tile), in tile order. */
  cells() {
    return this.tiles.map((tile) => tile.cameraId);
  }

  streamFor(index) {
    return this.fullIndex === index || this.side === 1 ? "main" : "sub";
  }

  /** Resize the grid to side×side, keeping the cameras of the tiles that remain. */
  setSide(side) {
    const cells = this.cells().slice(0, side * side);
    this.setCells(cells, side);
  }

  /** Show `cells` (camera ids or null) in a side×side grid (side defaults to the best fit). */
  setCells(cells, side = fitSide(cells.length)) {
    const count = side * side;
    const wanted = Array.from({ length: count }, (_, i) => cells[i] ?? null);
    this.exitFull(false);
    const spare = new Map(); // camera id → players taken from the old tiles
    for (const tile of this.tiles) {
      const player = tile.detach();
      if (!player) continue;
      if (!spare.has(player.cameraId)) spare.set(player.cameraId, []);
      spare.get(player.cameraId).push(player);
    }
    while (this.tiles.length < count) {
      const tile = new Tile(this.tiles.length, this.model, this.handlers, {
        interactive: this.interactive,
      });
      this.tiles.push(tile);
    }
    for (const tile of this.tiles.splice(count)) tile.root.remove();
    this.side = side;
    this.container.style.setProperty("--side", String(side));
    this.container.dataset.grid = this.grid;
    this.container.replaceChildren(...this.tiles.map((tile) => tile.root));
    wanted.forEach((cameraId, index) => {
      if (!cameraId) {
        this.tiles[index].render();
        return;
      }
      const player = spare.get(cameraId)?.shift() || null;
      this._place(index, cameraId, player);
    });
    for (const players of spare.values()) players.forEach((player) => player.stop());
    if (this.selected !== null && this.selected >= count) this.select(null);
    this.nextIndex = 0;
    this.refreshAlarms();
    this.onChange();
  }

  _place(index, cameraId, player) {
    const stream = this.streamFor(index);
    if (!player) {
      player = new LivePlayer(cameraId, { stream });
      this.tiles[index].attach(cameraId, player);
      player.start();
    } else {
      this.tiles[index].attach(cameraId, player);
      player.configure({ stream, audio: this.fullIndex === index ? player.audio : false });
    }
  }

  /** Put a camera into tile `index` (null empties it). */
  assign(index, cameraId) {
    const tile = this.tiles[index];
    if (!tile || tile.cameraId === cameraId) return;
    const old = tile.detach();
    if (old) old.stop();
    if (cameraId) this._place(index, cameraId, null);
    if (this.fullIndex === index && !cameraId) this.exitFull();
    this.refreshAlarms();
    this.onChange();
  }

  /** Click on a camera in the tree: the selected tile, else the next free one, else round robin. */
  place(cameraId) {
    let index = this.selected;
    if (index === null) {
      index = this.tiles.findIndex((tile) => !tile.cameraId);
      if (index < 0) {
        index = this.nextIndex % this.tiles.length;
        this.nextIndex = index + 1;
      }
    }
    this.assign(index, cameraId);
    if (this.selected !== null) {
      const free = this.tiles.findIndex((tile, i) => i > index && !tile.cameraId);
      this.select(free >= 0 ? free : null);
    }
  }

  swap(from, to) {
    const a = this.tiles[from];
    const b = this.tiles[to];
    if (!a || !b) return;
    const [idA, playerA] = [a.cameraId, a.detach()];
    const [idB, playerB] = [b.cameraId, b.detach()];
    if (idB) this._place(from, idB, playerB);
    if (idA) this._place(to, idA, playerA);
    this.refreshAlarms();
    this.onChange();
  }

  select(index) {
    this.selected = index;
    this.tiles.forEach((tile, i) => tile.setSelected(i === index));
  }

  toggleFull(index) {
    if (this.fullIndex === index) this.exitFull();
    else if (this.tiles[index]?.cameraId) this.enterFull(index);
  }

  enterFull(index) {
    this.exitFull(false);
    this.fullIndex = index;
    this.container.classList.add("has-full");
    const tile = this.tiles[index];
    tile.setFull(true);
    tile.player?.configure({ stream: "main" });
  }

  /** Leave full-screen; the tile goes back to its grid stream, muted. */
  exitFull(render = true) {
    const index = this.fullIndex;
    if (index === null) return;
    this.fullIndex = null;
    this.container.classList.remove("has-full");
    const tile = this.tiles[index];
    if (!tile) return;
    tile.setFull(false);
    tile.player?.configure({ stream: this.streamFor(index), audio: false });
    if (render) tile.render();
  }

  toggleAudio(index) {
    const tile = this.tiles[index];
    if (!tile?.player) return;
    tile.player.configure({ audio: !tile.player.audio });
    tile.render();
  }

  refreshAlarms() {
    const alarmed = this.model.alarmedCameras();
    for (const tile of this.tiles) tile.setAlarm(Boolean(tile.cameraId && alarmed.has(tile.cameraId)));
  }

  _renderCamera(cameraId) {
    for (const tile of this.tiles) if (tile.cameraId === cameraId) tile.render();
  }

  /** Stop every player (page unload): each session is DELETEd with keepalive. */
  stopAll() {
    for (const tile of this.tiles) tile.player?.stop();
  }

  /** Test hook data: one entry per tile with a camera. */
  async stats() {
    const entries = this.tiles
      .filter((tile) => tile.cameraId && tile.player)
      .map(async (tile) => {
        const player = tile.player;
        const stats = await player.stats();
        const camera = this.model.camera(tile.cameraId);
        return {
          camera_id: tile.cameraId,
          tile_index: tile.index,
          stream: player.stream,
          audio: player.audio,
          framesDecoded: stats.framesDecoded,
          bytesReceived: stats.bytesReceived,
          width: stats.width ?? null,
          height: stats.height ?? null,
          connectionState: stats.connectionState,
          state: camera ? camera.state : "unknown",
          phase: player.status.phase,
          message: player.status.message || null,
          sessions: player.sessions,
          full: tile.full,
        };
      });
    return Promise.all(entries);
  }
}
