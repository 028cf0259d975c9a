// sync.js — one master clock for the cameras of a room, played side by side.
//
// The clock is a wall time. While playing, it follows the *lead*: the first camera that has
// decoded data at the clock (its element plays normally at the chosen rate). The other cameras
// follow the clock: a drift above HARD_DRIFT is corrected by a seek, a smaller one by nudging the
// follower's playbackRate (at most ±NUDGE) until it is within TOLERANCE — so the cameras stay
// within ≈0.1 s of each other without visible jumps (above 2× both thresholds grow with the
// speed: the same drift is then a smaller share of what is shown). Where no camera has footage, the clock jumps
// to the next footage of any camera (the gap stays visible on the timeline); where a camera has
// none, its tile says why (the gap's cause) while the others play on.

import { causeLabel } from "./strings.js";

const TICK_MS = 100;
const TOLERANCE_S = 0.02;
const HARD_DRIFT_S = 0.2;
const NUDGE = 0.4;
const END_SLACK_MS = 350; // a lead stalled this close to its piece's end has reached the end

export class SyncGroup {
  /**
   * @param {CameraPlayer[]} players
   * @param {object} view  {start, end} wall ms of the timeline
   * @param {object} hooks {onTick(group), onSkip(group, fromMs, toMs, cause), onEnd(group)}
   */
  constructor(players, view, hooks = {}) {
    this.players = players;
    this.view = view;
    this.hooks = hooks;
    this.clock = view.start;
    this.playing = false;
    this.rate = 1;
    this.lead = null;
    this._stalledSince = null;
    this._timer = setInterval(() => this.tick(), TICK_MS);
  }

  destroy() {
    clearInterval(this._timer);
    for (const player of this.players) player.destroy();
  }

  // -- commands -------------------------------------------------------------------------------

  play() {
    if (this.clock >= this.view.end - 50) this.seek(this.view.start);
    this.playing = true;
    for (const player of this.players) player.video.playbackRate = this.rate;
    this.tick();
  }

  pause() {
    this.playing = false;
    const lead = this._pickLead();
    if (lead) this.clock = lead.wallTime();
    for (const player of this.players) player.video.pause();
    this.seek(this.clock, { measure: false });
  }

  toggle() {
    if (this.playing) this.pause();
    else this.play();
  }

  setRate(rate) {
    this.rate = rate;
    for (const player of this.players) player.video.playbackRate = rate;
  }

  /** Move every camera to `wallMs` (clamped to the view). */
  seek(wallMs, { measure = true } = {}) {
    this.clock = Math.min(Math.max(wallMs, this.view.start), this.view.end);
    this._stalledSince = null;
    for (const player of this.players) {
      player.video.playbackRate = this.rate;
      player.seek(this.clock, this.view.end, { measure });
    }
    this.tick();
  }

  /** One frame forward (+1) or back (−1), paused. */
  step(direction) {
    if (this.playing) this.pause();
    const fps = this.players.length ? this.players[0].fps || 25 : 25;
    this.seek(this.clock + (direction * 1000) / fps);
  }

  // -- the clock ------------------------------------------------------------------------------

  _pickLead() {
    for (const player of this.players) {
      const video = player.video;
      if (
        player.pieceAt(this.clock) &&
        player.hasDataAt(player.wallTime()) &&
        !video.seeking &&
        video.readyState >= 2 &&
        Math.abs(player.wallTime() - this.clock) < HARD_DRIFT_S * 1000 * Math.max(1, this.rate / 2)
      ) {
        return player;
      }
    }
    return null;
  }

  tick() {
    if (this.playing) this._advance();
    for (const player of this.players) this._follow(player);
    if (this.hooks.onTick) this.hooks.onTick(this);
  }

  _advance() {
    const lead = this._pickLead();
    this.lead = lead;
    if (lead) {
      const before = this.clock;
      this.clock = lead.wallTime();
      const piece = lead.pieceAt(this.clock);
      if (this.clock <= before + 1 && (lead.video.paused || lead.video.readyState < 3)) {
        // the lead does not move: stalled at the end of its data?
        this._stalledSince ??= performance.now();
        const atEnd = !piece || piece.end - this.clock < END_SLACK_MS;
        if (atEnd && performance.now() - this._stalledSince > 200) {
          this.clock = (piece ? piece.end : this.clock) + 1;
          this._stalledSince = null;
        }
      } else {
        this._stalledSince = null;
      }
    } else if (!this.players.some((p) => p.pieceAt(this.clock))) {
      // no camera has footage here: jump to the next footage of any camera
      const next = this.players
        .map((p) => p.nextFootageAfter(this.clock))
        .filter((v) => v !== null && v < this.view.end);
      if (next.length) {
        const target = Math.min(...next);
        const gap = this.players.map((p) => p.gapAt(this.clock)).find(Boolean);
        if (this.hooks.onSkip) this.hooks.onSkip(this, this.clock, target, gap ? gap.cause : null);
        this.seek(target, { measure: false });
      } else {
        this.playing = false;
        for (const player of this.players) player.video.pause();
        if (this.hooks.onEnd) this.hooks.onEnd(this);
      }
      return;
    }
    // else: cameras with footage here are still loading it: the clock waits for them
    if (this.clock >= this.view.end) {
      this.clock = this.view.end;
      this.playing = false;
      for (const player of this.players) player.video.pause();
      if (this.hooks.onEnd) this.hooks.onEnd(this);
    }
  }

  _follow(player) {
    const video = player.video;
    if (!player.pieceAt(this.clock)) {
      if (!video.paused) video.pause();
      if (player.status !== "gap") player.seek(this.clock, this.view.end, { measure: false });
      return;
    }
    if (player.status === "gap") {
      // footage here by the index: load it (unless the server just refused it)
      if (!player.blocked()) player.seek(this.clock, this.view.end, { measure: false });
      return;
    }
    const drift = (player.wallTime() - this.clock) / 1000;
    const scale = Math.max(1, this.rate / 2); // at 4× and 8× the same drift is less time shown
    if (!this.playing) {
      if (!video.paused) video.pause();
      if (Math.abs(drift) > 0.02 && !video.seeking) {
        player.seek(this.clock, this.view.end, { measure: false });
      } else {
        player.feed(this.clock, this.view.end);
      }
      return;
    }
    player.feed(this.clock, this.view.end);
    const ready = player.hasDataAt(this.clock) || player.hasDataAt(player.wallTime());
    if (!ready) return; // loading; it is moved to the clock when its data is there
    if (Math.abs(drift) > HARD_DRIFT_S * scale) {
      if (!video.seeking) player.seek(this.clock, this.view.end, { measure: false });
      return;
    }
    if (video.paused) {
      video.play().catch((error) => {
        if (error.name === "NotAllowedError" && !video.muted) {
          video.muted = true;
          video.play().catch(() => {});
        }
      });
    }
    if (player === this.lead) {
      if (video.playbackRate !== this.rate) video.playbackRate = this.rate;
      return;
    }
    let wanted = this.rate;
    if (Math.abs(drift) > TOLERANCE_S * scale) {
      const correction = Math.max(-NUDGE, Math.min(NUDGE, (-drift * 3) / scale));
      wanted = this.rate * (1 + correction);
    }
    if (Math.abs(video.playbackRate - wanted) > 0.001) video.playbackRate = wanted;
  }

  /** What each camera shows relative to the clock (for the page and its tests). */
  drifts() {
    return this.players.map((p) => ({
      camera_id: p.camera.id,
      drift_s: (p.wallTime() - this.clock) / 1000,
      gap: p.pieceAt(this.clock) ? null : causeLabel((p.gapAt(this.clock) || {}).cause || ""),
    }));
  }
}
