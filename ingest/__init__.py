"""Ingest: RTSP sources, timestamp validation, per-camera supervision and fan-out.

No database and no web imports here
(DESIGN.md: configs ← ingest ← recorder ← {relay, patrol} ← api).
"""
