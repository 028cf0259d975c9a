// player.js — one camera's recorded footage in a <video>, fed through Media Source Extensions.
//
// The server streams one fragmented MP4 per request (GET /api/v1/playback/{camera}?start=…),
// starting at the keyframe at or before `start` and stopping at `end` or the first gap; its
// `X-Playback-Start` header is the wall time of the stream's media time 0. Every stream of a
// camera is appended to the same SourceBuffer with
//
//     timestampOffset = (X-Playback-Start − origin) / 1000
//
// so the element's `currentTime` is simply seconds since the page's `origin` (a wall time shared
// by every camera of the view): `wall = origin + currentTime × 1000`. Seeking into footage that is
// already buffered only moves `currentTime`; anything else aborts the running request and starts
// a new one at the target. Reading applies back-pressure (stop reading while enough is buffered
// ahead, which pauses ffmpeg on the server through TCP), and old data behind the playhead is
// removed so the buffer stays bounded.

import { parseIso, playbackUrl } from "./api.js";

const AHEAD_SECONDS = 45; // stop reading the stream when this much is buffered ahead
const KEEP_BEHIND_SECONDS = 60; // buffered data older than this (behind the playhead) is removed
const REFILL_SECONDS = 4; // fetch more when the buffered data ends this close ahead (× rate)
const ABANDON_SECONDS = 180; // a stream this far ahead of the playhead is given up

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export class CameraPlayer {
  /**
   * @param {object} camera  {id, name}
   * @param {HTMLVideoElement} video
   * @param {number} origin  wall ms of currentTime 0
   * @param {object} hooks   {onStatus(player), onError(player, message)}
   */
  constructor(camera, video, origin, hooks = {}) {
    this.camera = camera;
    this.video = video;
    this.origin = origin;
    this.hooks = hooks;
    this.pieces = []; // [{start, end}] wall ms, from the index: what can be played
    this.gaps = []; // [{start, end, cause}]
    this.fps = 25;
    this.codecs = null;
    this.mediaSource = null;
    this.sourceBuffer = null;
    this.opened = null;
    this.fetch = null; // the running request: {controller, startMs, stream headers, done}
    this.generation = 0;
    this.status = "idle"; // idle | loading | ready | gap | error
    this.message = "";
    this.error = null;
    // figures for the page's test hooks and the seek latency measurement
    this.framesPresented = 0;
    this.lastFrameMediaTime = null;
    this.lastStream = null; // {start, end, next, gap, skipped, codecs, url, timestampOffset}
    this.seekStartedAt = null;
    this.seekTarget = null;
    this.seekLatencies = [];
    this.lastTiming = null; // {requested, headers, firstAppend} of the last request (ms)
    this.objectUrl = null;
    this.destroyed = false;
    this.retryAt = 0; // after a refused or failed request, automatic reloads wait until then
    this._watchFrames();
    video.addEventListener("error", () => this._recover());
    this._open();
  }

  /** The element failed (e.g. a decode error): start over with a fresh MediaSource. */
  _recover() {
    if (this.destroyed) return;
    const error = this.video.error;
    const position = this.video.currentTime;
    this.stop();
    this.mediaSource = null;
    this.sourceBuffer = null;
    this.opened = null;
    this.error = error ? `media error ${error.code}: ${error.message}` : "media error";
    this._setStatus("error");
    if (this.hooks.onError) this.hooks.onError(this, this.error);
    this._open().then(() => {
      this.video.currentTime = position;
      this.status = "idle";
    });
  }

  // -- time ----------------------------------------------------------------------------------

  /** Wall ms shown now. */
  wallTime() {
    return this.origin + this.video.currentTime * 1000;
  }

  toMedia(wallMs) {
    return (wallMs - this.origin) / 1000;
  }

  /** The index piece that contains `wallMs` (with 50 ms slack at its end), or null. */
  pieceAt(wallMs) {
    return this.pieces.find((p) => p.start - 1 <= wallMs && wallMs < p.end - 50) || null;
  }

  gapAt(wallMs) {
    return this.gaps.find((g) => g.start <= wallMs && wallMs < g.end) || null;
  }

  nextFootageAfter(wallMs) {
    const next = this.pieces.find((p) => p.start > wallMs);
    return next ? next.start : null;
  }

  /** The buffered range (media seconds) containing `seconds`, or null. */
  bufferedRange(seconds, slack = 0.05) {
    const ranges = this.sourceBuffer ? safeBuffered(this.sourceBuffer) : this.video.buffered;
    for (let i = 0; i < ranges.length; i += 1) {
      if (ranges.start(i) - slack <= seconds && seconds <= ranges.end(i) + slack) {
        return { start: ranges.start(i), end: ranges.end(i) };
      }
    }
    return null;
  }

  hasDataAt(wallMs) {
    const range = this.bufferedRange(this.toMedia(wallMs), 0.02);
    return range !== null && range.end - this.toMedia(wallMs) > 0.03;
  }

  setIndex(pieces, gaps) {
    this.pieces = pieces;
    this.gaps = gaps;
  }

  // -- media source --------------------------------------------------------------------------

  async _open() {
    if (this.opened) return this.opened;
    this.mediaSource = new MediaSource();
    this.opened = new Promise((resolve) => {
      this.mediaSource.addEventListener("sourceopen", () => resolve(), { once: true });
    });
    if (this.objectUrl) URL.revokeObjectURL(this.objectUrl);
    this.objectUrl = URL.createObjectURL(this.mediaSource);
    this.video.src = this.objectUrl;
    await this.opened;
    return this.opened;
  }

  async _ensureBuffer(codecs, spanSeconds) {
    await this._open();
    const type = `video/mp4; codecs="${codecs}"`;
    if (!MediaSource.isTypeSupported(type)) {
      throw new Error(`codec:${codecs}`);
    }
    if (!this.sourceBuffer) {
      this.sourceBuffer = this.mediaSource.addSourceBuffer(type);
      this.sourceBuffer.mode = "segments";
      this.codecs = codecs;
      this.mediaSource.duration = Math.max(spanSeconds, 1);
    } else if (codecs !== this.codecs && this.sourceBuffer.changeType) {
      await this._idle();
      this.sourceBuffer.changeType(type);
      this.codecs = codecs;
    }
    if (this.mediaSource.duration < spanSeconds) {
      await this._idle();
      this.mediaSource.duration = spanSeconds;
    }
  }

  _idle() {
    const buffer = this.sourceBuffer;
    if (!buffer || !buffer.updating) return Promise.resolve();
    return new Promise((resolve) => buffer.addEventListener("updateend", resolve, { once: true }));
  }

  /** Append one chunk of the stream of `generation`; false when that stream was dropped. */
  async _append(chunk, generation) {
    const buffer = this.sourceBuffer;
    for (let attempt = 0; ; attempt += 1) {
      await this._idle();
      // another stream may have taken the buffer over while this one waited: its bytes would
      // land in the middle of the new stream's fragments
      if (generation !== this.generation || buffer !== this.sourceBuffer) return false;
      try {
        buffer.appendBuffer(chunk);
        await this._idle();
        return true;
      } catch (error) {
        if (error.name !== "QuotaExceededError" || attempt > 20) throw error;
        await this._trim(5);
        await sleep(250);
      }
    }
  }

  async _trim(keepBehind = KEEP_BEHIND_SECONDS) {
    const buffer = this.sourceBuffer;
    if (!buffer) return;
    const now = this.video.currentTime;
    const ranges = safeBuffered(buffer);
    if (!ranges.length) return;
    const cut = now - keepBehind;
    if (ranges.start(0) < cut - 1) {
      await this._idle();
      buffer.remove(0, cut);
      await this._idle();
    }
  }

  // -- loading -------------------------------------------------------------------------------

  /** Abort the running request (if any). */
  stop() {
    this.generation += 1;
    if (this.fetch) {
      this.fetch.controller.abort();
      this.fetch = null;
    }
  }

  /** True when the running request will bring `wallMs` soon (it started before and is close). */
  covering(wallMs) {
    const running = this.fetch;
    if (!running || running.done || running.failed) return false;
    if (running.startMs > wallMs + 50) return false;
    if (running.streamEnd !== null && wallMs >= running.streamEnd) return false;
    // data it appended before `wallMs` is either buffered (no request needed) or was removed
    // since (behind the playhead): only what it has not reached yet is still coming
    const appended = running.appendedTo ?? running.startMs;
    return appended <= wallMs + 100 && wallMs - appended < 8000;
  }

  /** True while automatic reloads wait after a refused or failed request. */
  blocked() {
    return performance.now() < this.retryAt;
  }

  /**
   * Start a request at `wallMs` (the stream begins at the keyframe at or before it). Unless
   * `force`d (a user's seek), nothing happens for a while after a refused or failed request.
   */
  async load(wallMs, viewEndMs, { force = false } = {}) {
    if (!force && this.blocked()) return;
    this.stop();
    const generation = this.generation;
    const controller = new AbortController();
    const running = {
      controller,
      startMs: wallMs,
      streamStart: null,
      streamEnd: null,
      appendedTo: null,
      done: false,
      failed: false,
    };
    this.fetch = running;
    this._setStatus("loading");
    const timing = { requested: performance.now(), headers: null, firstAppend: null };
    this.lastTiming = timing;
    let response;
    try {
      response = await fetch(playbackUrl(this.camera.id, wallMs), { signal: controller.signal });
    } catch (error) {
      if (generation === this.generation) this._fail(running, error.message || String(error));
      return;
    }
    if (generation !== this.generation) {
      controller.abort();
      return;
    }
    if (response.status === 404) {
      let body = {};
      try {
        body = await response.json();
      } catch {
        // keep the status line
      }
      running.failed = true;
      this.fetch = null;
      this.message = body.error || "no footage";
      this.retryAt = performance.now() + 5000;
      this._setStatus("gap");
      return;
    }
    if (!response.ok) {
      let message = `HTTP ${response.status}`;
      try {
        message = (await response.json()).error || message;
      } catch {
        // not JSON
      }
      this._fail(running, message);
      return;
    }
    timing.headers = performance.now() - timing.requested;
    const headers = response.headers;
    const start = parseIso(headers.get("X-Playback-Start"));
    const end = parseIso(headers.get("X-Playback-End"));
    const codecs = headers.get("X-Playback-Codecs") || "avc1.640028,mp4a.40.2";
    this.fps = Number(headers.get("X-Playback-Fps")) || this.fps;
    running.streamStart = start;
    running.streamEnd = end;
    const offset = this.toMedia(start);
    this.lastStream = {
      url: response.url,
      start,
      end,
      startHeader: headers.get("X-Playback-Start"),
      next: parseIso(headers.get("X-Playback-Next")),
      gap: headers.get("X-Playback-Gap"),
      skipped: headers.get("X-Playback-Skipped-Gap"),
      codecs,
      timestampOffset: offset,
    };
    try {
      const spanSeconds = Math.max(this.toMedia(viewEndMs || end) + 600, this.toMedia(end) + 60);
      await this._ensureBuffer(codecs, spanSeconds);
      if (generation !== this.generation) return;
      await this._idle();
      if (this.mediaSource.readyState === "open") this.sourceBuffer.abort();
      this.sourceBuffer.timestampOffset = offset;
      const reader = response.body.getReader();
      for (;;) {
        // back-pressure: hold the stream while plenty is buffered ahead of the playhead; give
        // it up when the playhead went far away (the server's ffmpeg is then ended)
        while (
          generation === this.generation &&
          running.appendedTo !== null &&
          this.toMedia(running.appendedTo) - this.video.currentTime >
            AHEAD_SECONDS * Math.min(rate(this), 2)
        ) {
          if (this.toMedia(running.appendedTo) - this.video.currentTime > ABANDON_SECONDS) {
            this.stop();
            break;
          }
          await sleep(250);
        }
        if (generation !== this.generation) {
          reader.cancel().catch(() => {});
          return;
        }
        const { value, done } = await reader.read();
        if (done) break;
        if (generation !== this.generation) {
          reader.cancel().catch(() => {});
          return;
        }
        if (!(await this._append(value, generation))) return;
        if (timing.firstAppend === null) timing.firstAppend = performance.now() - timing.requested;
        running.appendedTo = this._appendedEnd(running.appendedTo ?? start);
        if (this.status === "loading" && this.hasDataAt(this.wallTime())) this._setStatus("ready");
        await this._trim();
      }
      running.done = true;
      if (this.status === "loading") this._setStatus("ready");
    } catch (error) {
      if (generation !== this.generation || error.name === "AbortError") return;
      const message = String(error.message || error);
      this._fail(running, message.startsWith("codec:") ? message : message);
    }
  }

  /** Where the data appended since `previous` (wall ms) ends now: the end of the buffered
   *  range reaching past `previous` that starts at most 2 s after it. */
  _appendedEnd(previous) {
    const from = this.toMedia(previous);
    const ranges = safeBuffered(this.sourceBuffer);
    let end = from;
    for (let i = 0; i < ranges.length; i += 1) {
      if (ranges.end(i) >= from - 0.05 && ranges.start(i) <= from + 2) {
        end = Math.max(end, ranges.end(i));
      }
    }
    return this.origin + end * 1000;
  }

  _fail(running, message) {
    running.failed = true;
    this.retryAt = performance.now() + 5000;
    if (this.fetch === running) this.fetch = null;
    this.error = message;
    this._setStatus("error");
    if (this.hooks.onError) this.hooks.onError(this, message);
  }

  _setStatus(status) {
    this.status = status;
    if (this.hooks.onStatus) this.hooks.onStatus(this);
  }

  /**
   * Show `wallMs`: move within buffered data, or (re)load from there. `measure` records the
   * time until the first frame at the target is presented (seek latency).
   */
  seek(wallMs, viewEndMs, { measure = true } = {}) {
    const seconds = Math.max(0, this.toMedia(wallMs));
    if (measure) {
      this.seekStartedAt = performance.now();
      this.seekTarget = seconds;
    }
    this.video.currentTime = seconds;
    if (!this.pieceAt(wallMs)) {
      this.stop();
      this.video.pause();
      this._setStatus("gap");
      return;
    }
    if (this.hasDataAt(wallMs)) {
      if (this.status !== "ready") this._setStatus("ready");
    } else if (!this.covering(wallMs)) {
      this.load(wallMs, viewEndMs, { force: measure });
    }
  }

  /** Keep data coming while playing forward (called by the clock's tick). */
  feed(wallMs, viewEndMs) {
    if (!this.pieceAt(wallMs) || this.blocked()) return;
    const seconds = this.toMedia(wallMs);
    const range = this.bufferedRange(seconds);
    const piece = this.pieceAt(wallMs);
    if (range) {
      const endWall = this.origin + range.end * 1000;
      const ahead = range.end - seconds;
      if (ahead > REFILL_SECONDS * rate(this)) return;
      if (endWall >= piece.end - 80) return; // the piece ends there: the clock crosses the gap
      if (this.covering(endWall)) return;
      this.load(endWall, viewEndMs);
    } else if (!this.covering(wallMs)) {
      this.load(wallMs, viewEndMs);
    }
  }

  // -- frames --------------------------------------------------------------------------------

  _watchFrames() {
    const video = this.video;
    if (!("requestVideoFrameCallback" in HTMLVideoElement.prototype)) return;
    const onFrame = (_now, metadata) => {
      this.framesPresented += 1;
      this.lastFrameMediaTime = metadata.mediaTime;
      if (this.seekStartedAt !== null && Math.abs(metadata.mediaTime - this.seekTarget) < 0.5) {
        this.seekLatencies.push(performance.now() - this.seekStartedAt);
        this.seekStartedAt = null;
      }
      video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
  }

  stats() {
    const quality = this.video.getVideoPlaybackQuality ? this.video.getVideoPlaybackQuality() : {};
    return {
      camera_id: this.camera.id,
      status: this.status,
      message: this.message,
      error: this.error,
      origin: this.origin,
      currentTime: this.video.currentTime,
      wallMs: this.wallTime(),
      paused: this.video.paused,
      seeking: this.video.seeking,
      readyState: this.video.readyState,
      playbackRate: this.video.playbackRate,
      totalVideoFrames: quality.totalVideoFrames ?? null,
      droppedVideoFrames: quality.droppedVideoFrames ?? null,
      framesPresented: this.framesPresented,
      lastFrameMediaTime: this.lastFrameMediaTime,
      stream: this.lastStream,
      seekLatencies: this.seekLatencies.slice(),
      fetch: this.fetch
        ? {
            startMs: this.fetch.startMs,
            appendedTo: this.fetch.appendedTo,
            streamEnd: this.fetch.streamEnd,
            done: this.fetch.done,
          }
        : null,
      lastLoad: this.lastTiming
        ? { headersMs: this.lastTiming.headers, firstAppendMs: this.lastTiming.firstAppend }
        : null,
      buffered: rangesList(this.sourceBuffer ? safeBuffered(this.sourceBuffer) : this.video.buffered),
    };
  }

  destroy() {
    this.stop();
    this.destroyed = true;
    this.video.pause();
    this.video.removeAttribute("src");
    this.video.load();
    if (this.objectUrl) URL.revokeObjectURL(this.objectUrl);
    this.objectUrl = null;
  }
}

function rate(player) {
  return Math.max(1, player.video.playbackRate || 1);
}

function safeBuffered(buffer) {
  try {
    return buffer.buffered;
  } catch {
    return { length: 0, start: () => 0, end: () => 0 };
  }
}

function rangesList(ranges) {
  const list = [];
  for (let i = 0; i < ranges.length; i += 1) list.push([ranges.start(i), ranges.end(i)]);
  return list;
}
