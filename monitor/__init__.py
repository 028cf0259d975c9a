"""Monitoring: alarms and their policy, the live event bus, and the wall's screens."""
