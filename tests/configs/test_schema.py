"""Settings: shipped files load, defaults match default.yaml, bad configs name key and reason."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from configs.loader import PACKAGE_DIR, ConfigError, load_settings, parse_settings
from configs.schema import Settings

CAMERA = {
    "id": "qj-int-1",
    "name": "讯问室1",
    "area": "interrogation",
    "url": "rtsp://127.0.0.1:8554/cam",
}


def site(**camera: Any) -> dict[str, Any]:
    return {"sites": [{"id": "qingjiang", "name": "清姜派出所", "cameras": [{**CAMERA, **camera}]}]}


def test_issue_minimum_config_loads() -> None:
    text = """
storage: {path: ./data/recordings}
database: {url: "sqlite:///./data/casewatch.db"}
server: {host: 127.0.0.1, port: 8080}
sites:
  - id: qingjiang
    name: 清姜派出所
    cameras:
      - {id: qj-int-1, name: 讯问室1, area: interrogation, url: "rtsp://127.0.0.1:8554/cam"}
"""
    settings = parse_settings(yaml.safe_load(text))
    assert settings.cameras()[0][1].name == "讯问室1"


def test_default_yaml_equals_code_defaults() -> None:
    shipped = yaml.safe_load((PACKAGE_DIR / "default.yaml").read_text())
    assert parse_settings(shipped) == Settings()


@pytest.mark.parametrize("name", ["default.yaml", "demo.yaml", "example.yaml"])
def test_shipped_configs_load(name: str, tmp_path: Path) -> None:
    settings = load_settings(PACKAGE_DIR / name, base=tmp_path)
    assert settings.storage.path.is_absolute()


def test_demo_branch_has_the_stations_of_the_domain() -> None:
    settings = load_settings(PACKAGE_DIR / "demo.yaml")
    assert len(settings.sites) >= 6
    for station in settings.sites:
        areas = {camera.area.value for camera in station.cameras}
        assert {"case_room", "interrogation"} <= areas


BAD = [
    ({"storag": {}}, "storag: unknown key"),
    ({"server": {"port": 70000}}, "server.port: Input should be less than or equal to 65535"),
    (
        site(url="http://127.0.0.1/cam"),
        "sites[0].cameras[0].url: URL scheme must be rtsp or rtsps (got 'http')",
    ),
    (site(url="rtsp:///cam"), "sites[0].cameras[0].url: URL has no host"),
    (site(url="rtsp://h:99999/cam"), "sites[0].cameras[0].url: URL has an invalid port"),
    (
        site(id="Bad Id"),
        "sites[0].cameras[0].id: String should match pattern '^[a-z0-9][a-z0-9_-]{0,62}$'",
    ),
    (
        site(area="kitchen"),
        "sites[0].cameras[0].area: Input should be 'case_room', "
        "'interrogation', 'inquiry', 'waiting', 'property', 'handling', 'corridor' or 'other'",
    ),
    (
        site(password="x", password_env="PW"),
        "sites[0].cameras[0]: give password or password_env, not both",
    ),
    (site(colour="red"), "sites[0].cameras[0].colour: unknown key"),
    (
        {
            "sites": [
                {"id": "a", "name": "A", "cameras": [CAMERA]},
                {"id": "b", "name": "B", "cameras": [CAMERA]},
            ]
        },
        "(top level): camera id 'qj-int-1' is used twice (sites 'a' and 'b')",
    ),
    (
        {"ingest": {"backoff": {"initial_seconds": 20, "max_seconds": 10}}},
        "ingest.backoff: initial_seconds must not exceed max_seconds",
    ),
    (
        {"database": {"url": "mysql://x"}},
        "database.url: must start with sqlite://, postgresql:// or postgresql+psycopg://",
    ),
    (
        {"storage": {"segment_seconds": 1}},
        "storage.segment_seconds: Input should be greater than or equal to 2",
    ),
    (
        {"server": {"cors_origins": ["https://player.example/whep"]}},
        "server.cors_origins: 'https://player.example/whep' is not an origin: give "
        "scheme://host[:port] in lower case, without a path (e.g. https://player.example)",
    ),
]


@pytest.mark.parametrize(("data", "message"), BAD, ids=[m.split(":")[0] for _, m in BAD])
def test_bad_config_is_named_and_explained(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_settings(data, source="casewatch.yaml")
    assert str(caught.value) == f"casewatch.yaml: invalid configuration\n{message}"


def test_bad_yaml_and_missing_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("sites: [\n")
    with pytest.raises(ConfigError, match=r"not valid YAML at line 2"):
        load_settings(broken)
    with pytest.raises(ConfigError, match="no such file"):
        load_settings(tmp_path / "absent.yaml")
    listing = tmp_path / "list.yaml"
    listing.write_text("- 1\n")
    with pytest.raises(ConfigError, match="top level must be a mapping"):
        load_settings(listing)


def test_cli_rejects_bad_config_without_traceback(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump(site(url="http://x/cam")))
    result = subprocess.run(
        [sys.executable, "-m", "api.cli", "check", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "sites[0].cameras[0].url: URL scheme must be rtsp or rtsps" in result.stderr
    assert "Traceback" not in result.stderr


def test_credentials_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAM_PW", "p@ss word")
    settings = parse_settings(
        site(url="rtsp://10.0.0.5:554/ch1", username="admin", password_env="CAM_PW")
    )
    camera = settings.cameras()[0][1]
    assert camera.connect_url() == "rtsp://admin:p%40ss%20word@10.0.0.5:554/ch1"
    assert "p@ss" not in repr(settings)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"storage": {"path": "/proc/casewatch"}}, "storage.path: /proc/casewatch is not writable"),
        (
            {"database": {"url": "postgresql+psycopg://u:secret@127.0.0.1:1/x"}},
            "database.url: cannot open the catalog",
        ),
        ({"database": {"url_env": "CASEWATCH_NO_SUCH_VAR"}}, "environment variable"),
    ],
)
def test_serve_refuses_unusable_storage_or_catalog(
    tmp_path: Path, override: dict[str, Any], message: str
) -> None:
    data = {"storage": {"path": str(tmp_path / "rec")}, "database": {"url": "sqlite:///x.db"}}
    data.update(override)
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump(data))
    result = subprocess.run(
        [sys.executable, "-m", "api.cli", "serve", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr
    assert "secret" not in result.stderr
