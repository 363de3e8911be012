"""Real `rapport` processes for scale-out tests: started from this checkout with a test's config, logs kept
per process, killed or stopped by signal, and their heartbeats and queue entries read from Redis."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import redis

ROOT = Path(__file__).resolve().parents[2]


def scaled_config(database_url: str, redis_url: str, prefix: str, **queue: float) -> str:
    """A config for a gateway and workers: the rule classifier, short claim, sweep, lease and heartbeat."""
    settings = {"claim_idle_seconds": 1, "sweep_seconds": 1, "lease_seconds": 2, "heartbeat_seconds": 0.3, **queue}
    lines = [f"{key} = {value}" for key, value in settings.items()]
    return (
        f'log_level = "INFO"\n[database]\nurl = "{database_url}"\n'
        f'[queue]\nurl = "{redis_url}"\nprefix = "{prefix}"\n' + "\n".join(lines) + '\n[nlp]\nbackend = "rules"\n'
    )


@dataclass
class Fleet:
    """Processes of one Rapport: `start("worker")`, `start("run", "--role", "gateway")`, `run("replay", f)`."""

    folder: Path
    config: str
    redis_url: str
    prefix: str
    started: list[subprocess.Popen[bytes]] = field(default_factory=list)
    _logs: list[IO[bytes]] = field(default_factory=list)
    _log_paths: dict[int, Path] = field(default_factory=dict)

    def __post_init__(self) -> None:
        (self.folder / "rapport.toml").write_text(self.config)
        self.redis = redis.Redis.from_url(self.redis_url, decode_responses=True)

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("RAPPORT_", "DISCORD_", "SLACK_", "X_"))}
        # This checkout's code, wherever the virtual environment's editable install points.
        env.update(RAPPORT_CONFIG=str(self.folder / "rapport.toml"), PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1")
        return env

    def start(self, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        """Start `rapport *args`; `env` adds to its environment (a database URL of its own, secrets)."""
        path = self.folder / f"{args[0]}-{len(self.started)}.log"
        log = path.open("wb")
        self._logs.append(log)
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot", *args], cwd=self.folder, env=self.env | (env or {}), stdout=log, stderr=log
        )
        self.started.append(proc)
        self._log_paths[proc.pid] = path
        return proc

    def log_of(self, proc: subprocess.Popen[bytes]) -> str:
        """Everything `proc` has logged so far."""
        return self._log_paths[proc.pid].read_text(errors="replace")

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot", *args],
            cwd=self.folder,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def kill(self, proc: subprocess.Popen[bytes]) -> None:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)

    def heartbeats(self) -> dict[int, dict[str, Any]]:
        """What each live process last said about itself, by pid."""
        keys = list(self.redis.scan_iter(match=f"{self.prefix}process:*"))
        values = self.redis.mget(keys) if keys else []
        found = [json.loads(v) for v in values if v]
        return {int(info["pid"]): info for info in found}

    def pending(self, proc: subprocess.Popen[bytes]) -> int:
        """Stream entries this process has taken and not acknowledged (it is mid-batch)."""
        try:
            summary = self.redis.xpending(f"{self.prefix}work", "workers")
        except redis.ResponseError:  # no group yet, or flushed
            return 0
        return sum(int(c["pending"]) for c in summary.get("consumers") or [] if c["name"].endswith(f"-{proc.pid}"))

    def logs(self) -> str:
        return "\n".join(
            f"== {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in sorted(self.folder.glob("*.log"))
        )

    def close(self) -> None:
        for proc in self.started:
            if proc.poll() is None:
                proc.send_signal(signal.SIGCONT)
                proc.terminate()
        for proc in self.started:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for log in self._logs:
            log.close()
        for key in self.redis.scan_iter(match=f"{self.prefix}*"):
            self.redis.delete(key)
        self.redis.close()


def wait_for(check: Callable[[], Any], what: str, within: float = 60.0, every: float = 0.05) -> Any:
    """Poll `check` until it returns something true; fail naming `what` past `within` (a deadline against
    hanging, not a timing assertion)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(every)
    raise AssertionError(f"gave up waiting for {what} after {within:.0f}s")
