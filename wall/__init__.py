"""Wall: the browser front end (static ES modules, no build step) served by the API at /wall/."""

from pathlib import Path

STATIC_DIR = Path(__file__).resolve().parent / "static"
"""The pages, scripts and styles, served as they are."""
