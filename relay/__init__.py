"""Relay: live WebRTC (WHEP) viewing of cameras, fed from the ingest Hub."""
