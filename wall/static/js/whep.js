// whep.js — live video of one camera over WebRTC (WHEP), reconnecting by itself.
//
// `negotiate()` is one WHEP exchange, following the pitfalls measured in DESIGN.md: no ICE
// servers; a recvonly video transceiver whose codec preferences (H.264, packetization-mode=1,
// profile 42e01f first) are set BEFORE createOffer; an audio transceiver only when audio is
// wanted; the offer is POSTed right after setLocalDescription without waiting for ICE gathering
// (the server answers with all its candidates, no trickle); nothing is stripped client-side.
//
// `LivePlayer` owns one <video> element and keeps it fed: when the peer connection goes
// failed / disconnected / closed, never connects, or the POST fails (e.g. a server restart), it
// tears the session down (DELETE of its Location) and tries again after a backoff growing from
// 0.5 s to 5 s. A camera that is offline still gets an answer; its frames simply resume on the
// same peer when it returns, so an offline camera is not a reason to reconnect.

import { ApiError, errorFrom, whepUrl } from "./api.js";
import { sessionFetch } from "./session.js";

const BACKOFF_START_MS = 500;
const BACKOFF_MAX_MS = 5000;
const CONNECT_TIMEOUT_MS = 10000;
const HEALTHY_MS = 5000; // connected this long: the next failure retries from the start again
const STALL_MS = 12000; // camera live but no frame decoded this long: reconnect
const WATCH_INTERVAL_MS = 2000;
const DELETE_WAIT_MS = 2000; // a torn-down peer is closed when its DELETE is answered, or after this

/** The codecs the wall takes, in our order of preference: H.264 (what every camera can be
 *  relayed as), then H.265 where the browser decodes it over WebRTC — then an H.265 camera is
 *  sent as it is, with no transcode on the server. [] if the browser has no H.264. */
export function preferredCodecs() {
  const h264 = preferredH264();
  if (h264.length === 0) return [];
  const caps = RTCRtpReceiver.getCapabilities("video");
  const h265 = caps.codecs.filter((codec) => codec.mimeType.toLowerCase() === "video/h265");
  return [...h264, ...h265];
}

/** Sender-side H.264 codecs in our order of preference, or [] if the browser has none. */
export function preferredH264() {
  const caps = RTCRtpReceiver.getCapabilities ? RTCRtpReceiver.getCapabilities("video") : null;
  if (!caps) return [];
  const score = (codec) => {
    const fmtp = (codec.sdpFmtpLine || "").toLowerCase();
    return (
      (fmtp.includes("packetization-mode=1") ? 2 : 0) +
      (fmtp.includes("profile-level-id=42e01f") ? 1 : 0)
    );
  };
  return caps.codecs
    .filter((codec) => codec.mimeType.toLowerCase() === "video/h264")
    .sort((a, b) => score(b) - score(a));
}

/**
 * One WHEP session: returns {pc, location, mediaStream}. Throws ApiError on an HTTP error or a
 * network failure; the caller closes `pc` on any later failure.
 */
export async function negotiate(cameraId, { stream, audio }) {
  const pc = new RTCPeerConnection({ iceServers: [] });
  const mediaStream = new MediaStream();
  pc.ontrack = (event) => mediaStream.addTrack(event.track);
  try {
    const video = pc.addTransceiver("video", { direction: "recvonly" });
    const codecs = preferredCodecs();
    if (codecs.length === 0) throw new ApiError("this browser cannot decode H.264 over WebRTC");
    video.setCodecPreferences(codecs);
    if (audio) pc.addTransceiver("audio", { direction: "recvonly" });
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    const url = whepUrl(cameraId, stream, audio);
    let response;
    try {
      response = await sessionFetch(url, {
        method: "POST",
        headers: { "Content-Type": "application/sdp", Accept: "application/sdp" },
        body: pc.localDescription.sdp,
      });
    } catch (error) {
      throw new ApiError(error.message || "network error", 0);
    }
    if (response.status !== 201 && response.status !== 200) throw await errorFrom(response);
    const answer = await response.text();
    const header = response.headers.get("Location");
    const location = header ? new URL(header, new URL(url, document.baseURI)).href : null;
    try {
      await pc.setRemoteDescription({ type: "answer", sdp: answer });
    } catch (error) {
      if (location) deleteSession(location);
      throw new ApiError(`bad answer: ${error.message}`, response.status);
    }
    return { pc, location, mediaStream };
  } catch (error) {
    pc.close();
    throw error;
  }
}

/** DELETE a WHEP session; keepalive so it also goes out while the page unloads. */
export function deleteSession(location) {
  return sessionFetch(location, { method: "DELETE", keepalive: true }).then(
    () => {},
    () => {}
  );
}

/** Inbound video statistics of a peer connection (and the size of the last decoded frame). */
export async function videoStats(pc) {
  let framesDecoded = 0;
  let bytesReceived = 0;
  let width = null;
  let height = null;
  const report = await pc.getStats();
  report.forEach((entry) => {
    if (entry.type === "inbound-rtp" && (entry.kind || entry.mediaType) === "video") {
      framesDecoded += entry.framesDecoded || 0;
      bytesReceived += entry.bytesReceived || 0;
      width = entry.frameWidth ?? width;
      height = entry.frameHeight ?? height;
    }
  });
  return { framesDecoded, bytesReceived, width, height };
}

/**
 * A self-healing live view of one camera rendered into `this.video`.
 * `onStatus({phase, message, retryInMs})` reports connecting / connected / retrying.
 */
export class LivePlayer {
  constructor(cameraId, { stream = "sub", audio = false, onStatus = () => {} } = {}) {
    this.cameraId = cameraId;
    this.stream = stream;
    this.audio = audio;
    this.onStatus = onStatus;
    this.video = document.createElement("video");
    this.video.muted = !audio;
    this.video.autoplay = true;
    this.video.playsInline = true;
    this.video.disablePictureInPicture = true;
    this.pc = null;
    this.location = null;
    this.generation = 0;
    this.backoffMs = BACKOFF_START_MS;
    this.sessions = 0;
    this.stopped = true;
    this.expectFrames = false; // set by the tile while the camera is live
    this.expectSince = 0;
    this.status = { phase: "idle" };
    this._timer = null;
    this._watch = null;
  }

  start() {
    if (!this.stopped) return;
    this.stopped = false;
    this._watch = setInterval(() => this._checkProgress(), WATCH_INTERVAL_MS);
    this._connect();
  }

  /** Tear down for good (DELETE the session). */
  stop() {
    this.stopped = true;
    clearInterval(this._watch);
    clearTimeout(this._timer);
    this._teardown();
    this.video.srcObject = null;
    this._setStatus({ phase: "idle" });
  }

  /** Switch stream (sub/main) or audio; reconnects at once when anything changed. */
  configure({ stream = this.stream, audio = this.audio } = {}) {
    if (stream === this.stream && audio === this.audio) return;
    this.stream = stream;
    this.audio = audio;
    this.video.muted = !audio;
    if (this.stopped) return;
    clearTimeout(this._timer);
    this._teardown();
    this.backoffMs = BACKOFF_START_MS;
    this._connect();
  }

  /** The camera is (not) sending: enables the no-frames watchdog. */
  setExpectFrames(expect) {
    if (expect && !this.expectFrames) this.expectSince = performance.now();
    this.expectFrames = expect;
  }

  async stats() {
    const pc = this.pc;
    const base = {
      framesDecoded: 0,
      bytesReceived: 0,
      connectionState: pc ? pc.connectionState : "none",
    };
    if (!pc) return base;
    try {
      return { ...base, ...(await videoStats(pc)) };
    } catch {
      return base;
    }
  }

  _setStatus(status) {
    this.status = status;
    this.onStatus(status);
  }

  async _connect() {
    const generation = ++this.generation;
    this._setStatus({ phase: "connecting" });
    let session;
    try {
      session = await negotiate(this.cameraId, { stream: this.stream, audio: this.audio });
    } catch (error) {
      if (generation === this.generation && !this.stopped) this._retry(error);
      return;
    }
    if (generation !== this.generation || this.stopped) {
      session.pc.close();
      if (session.location) deleteSession(session.location);
      return;
    }
    const { pc, location, mediaStream } = session;
    this.pc = pc;
    this.location = location;
    this.sessions += 1;
    this.connectedAt = 0;
    this.lastFrames = 0;
    this.lastProgressAt = performance.now();
    this.video.srcObject = mediaStream;
    this.video.play().catch(() => {});
    pc.onconnectionstatechange = () => {
      if (generation !== this.generation) return;
      const state = pc.connectionState;
      if (state === "connected") {
        this.connectedAt = performance.now();
        this.lastProgressAt = this.connectedAt;
        this._setStatus({ phase: "connected" });
      } else if (state === "failed" || state === "disconnected" || state === "closed") {
        this._retry(new ApiError(`connection ${state}`));
      }
    };
    this._timer = setTimeout(() => {
      if (generation === this.generation && pc.connectionState !== "connected") {
        this._retry(new ApiError("connection timed out"));
      }
    }, CONNECT_TIMEOUT_MS);
  }

  _retry(error) {
    const healthy = this.connectedAt && performance.now() - this.connectedAt > HEALTHY_MS;
    if (healthy) this.backoffMs = BACKOFF_START_MS;
    this.generation += 1;
    clearTimeout(this._timer);
    this._teardown();
    // A 4xx (unknown camera, bad request) will not fix itself quickly: retry slowly.
    const clientError = error.status >= 400 && error.status < 500;
    const delay = clientError ? BACKOFF_MAX_MS : this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, BACKOFF_MAX_MS);
    this._setStatus({
      phase: "retrying",
      message: error.message,
      httpStatus: error.status || 0,
      retryInMs: delay,
    });
    this._timer = setTimeout(() => {
      if (!this.stopped) this._connect();
    }, delay);
  }

  _teardown() {
    // The peer closes once its DELETE is answered: closing first makes the server end the
    // session by itself (DTLS close) and answer the DELETE with 404.
    const pc = this.pc;
    const deleted = this.location ? deleteSession(this.location) : Promise.resolve();
    this.location = null;
    this.pc = null;
    if (pc) {
      pc.onconnectionstatechange = null;
      const timeout = new Promise((resolve) => setTimeout(resolve, DELETE_WAIT_MS));
      Promise.race([deleted, timeout]).then(() => pc.close());
    }
    this.connectedAt = 0;
  }

  /** Watchdog: a connected peer of a live camera that decodes nothing for STALL_MS is renewed. */
  async _checkProgress() {
    const pc = this.pc;
    if (!pc || pc.connectionState !== "connected") return;
    const { framesDecoded } = await this.stats();
    const now = performance.now();
    if (framesDecoded > this.lastFrames) {
      this.lastFrames = framesDecoded;
      this.lastProgressAt = now;
      return;
    }
    const since = Math.max(this.lastProgressAt, this.expectSince);
    if (this.expectFrames && pc === this.pc && now - since > STALL_MS) {
      console.warn(`casewatch: ${this.cameraId} live but no frames for ${STALL_MS} ms, reconnecting`);
      this._retry(new ApiError("no video"));
    }
  }
}
