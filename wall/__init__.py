"""Wall: the browser front end (static ES modules) served by the API."""

from pathlib import Path

STATIC_DIR = Path(__file__).resolve().parent
