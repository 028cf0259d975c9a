// The third-party player as a browser global (`ThirdPartyWhep.WebRTCPlayer`), used unmodified.
export { WebRTCPlayer } from "@eyevinn/webrtc-player";
