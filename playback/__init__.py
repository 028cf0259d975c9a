"""Recorded playback: a camera's footage over a time range as one fragmented MP4 (stream copy),
and the index of playable pieces and gaps."""
