"""Patrol: scheduled spot checks of cameras and recordings, findings and rectification."""
