"""Evidence: cases and case numbers, tags and interrogation sessions, completeness reports with
audio presence, holds, signed export packages and their offline verification.

Procedures (closing a session, building an export) are in evidence/DESIGN.md.
"""
