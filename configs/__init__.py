"""Settings: the strict schema and the YAML files it validates."""

from configs.loader import ConfigError, load_settings
from configs.schema import Area, CameraSettings, Settings, SiteSettings

__all__ = ["Area", "CameraSettings", "ConfigError", "Settings", "SiteSettings", "load_settings"]
