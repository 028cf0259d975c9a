"""Ingest: RTSP sources, timestamp validation, per-camera supervision, fan-out and the runtime.

No database and no web imports here
(DESIGN.md: configs ← ingest ← recorder ← {evidence, playback, relay, monitor, …} ← api).
"""
