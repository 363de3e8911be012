"""The deployment examples stay in step with the code: deploy/docker-compose.yml runs PostgreSQL, Redis,
one gateway and two workers on one valid Rapport config, and the systemd units start the two roles.
Where a Compose binary is installed, `config` checks the file against the Compose schema too."""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from bot.config import load_settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
yaml = pytest.importorskip("yaml")


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    return data


def interpolated(environment: dict[str, str]) -> dict[str, str]:
    """Compose's `${NAME:-default}` with nothing set: the defaults."""
    return {k: re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", str(v)) for k, v in environment.items()}


def test_compose_runs_postgres_redis_one_gateway_and_two_workers() -> None:
    services = compose()["services"]
    assert set(services) == {"postgres", "redis", "gateway", "worker"}
    assert services["gateway"]["command"] == ["run", "--role", "gateway"]
    assert services["worker"]["command"] == ["worker"] and services["worker"]["deploy"]["replicas"] == 2
    for name in ("gateway", "worker"):
        waits_for = services[name]["depends_on"]
        assert all(services[s]["healthcheck"] and c == {"condition": "service_healthy"} for s, c in waits_for.items())


@pytest.mark.parametrize("service", ["gateway", "worker"])
def test_compose_gives_each_role_a_valid_config_on_postgres_and_redis(service: str, tmp_path: Path) -> None:
    spec = compose()["services"][service]
    env = interpolated(spec["environment"])
    mounted = {target: source for source, target, *_ in (v.split(":") for v in spec["volumes"])}
    config = DEPLOY / mounted[env["RAPPORT_CONFIG"]]
    settings = load_settings(config, env=env)
    assert settings.database.url.startswith("postgresql://") and "@postgres:" in settings.database.url
    assert settings.queue.url == "redis://redis:6379/0"
    assert settings.server.host == "0.0.0.0"  # reachable from outside its container
    assert settings.nlp.threads == 1


@pytest.mark.parametrize(
    ("unit", "command"), [("rapport-gateway.service", "run --role gateway"), ("rapport-worker@.service", "worker")]
)
def test_systemd_units_start_their_role_and_restart_it(unit: str, command: str) -> None:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(DEPLOY / "systemd" / unit)
    service = parser["Service"]
    assert service["ExecStart"].endswith(f"/rapport {command}")
    assert service["Restart"] == "always" and service["KillSignal"] == "SIGTERM"
    assert "EnvironmentFile" in service and parser["Install"]["WantedBy"] == "multi-user.target"


def compose_binary() -> list[str] | None:
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    return ["docker-compose"] if shutil.which("docker-compose") else None


def test_compose_config_accepts_the_file() -> None:
    binary = compose_binary()
    if binary is None:
        pytest.skip("no docker compose (or docker-compose) here")
    result = subprocess.run(
        [*binary, "-p", "rapport", "-f", str(DEPLOY / "docker-compose.yml"), "config", "-q"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
