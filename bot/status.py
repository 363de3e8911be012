"""What `rapport status` shows about the work: the processes of each role, the work stream, the messages
waiting to be processed and the outbox backlog. Read from the database and Redis, never from a process."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.domain import utcnow
from bot.errors import StorageError
from bot.ports import WorkQueue
from bot.storage.backlog import Backlog
from bot.storage.presence import Presence


async def work_report(
    backlog: Backlog, queue: WorkQueue | None, presence: Presence | None, stream: str = ""
) -> dict[str, Any]:
    """The work's state as plain data (also what `rapport status --json` prints). `queue` and `presence`
    are None in the one-process default; an unreachable Redis is reported, not raised."""
    now = utcnow()
    waiting = await backlog.waiting()
    report: dict[str, Any] = {
        "mode": "one process" if queue is None else "gateway and workers",
        "messages": {"unprocessed": waiting.messages, "oldest_age_seconds": _age(waiting.oldest, now)},
        "outbox": waiting.replies,
    }
    if queue is None or presence is None:
        return report
    try:
        report["stream"] = {"name": stream, **await queue.stats()}
        report["processes"] = [_process(p, now) for p in await presence.processes()]
    except StorageError as exc:
        report["stream"] = {"name": stream, "error": str(exc)}
        report["processes"] = None
    return report


def _process(info: dict[str, Any], now: datetime) -> dict[str, Any]:
    return {
        "role": info.get("role", "?"),
        "name": info["name"],
        "pid": info.get("pid"),
        "leader": bool(info.get("leader")),
        "processed": info.get("processed"),
        "up_seconds": _age(_time(info.get("started")), now),
        "beat_age_seconds": _age(_time(info.get("beat")), now),
        "connectors": info.get("connectors") or {},
    }


def _time(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


def _age(at: datetime | None, now: datetime) -> float | None:
    return None if at is None else round(max(0.0, (now - at).total_seconds()), 1)


def work_lines(report: dict[str, Any]) -> list[str]:
    """The report as the lines `rapport status` prints."""
    stream = report.get("stream")
    title = "Work (one process):" if stream is None else f"Work (gateway and workers over {stream['name']}):"
    m, o = report["messages"], report["outbox"]
    oldest = f", oldest stored {_duration(m['oldest_age_seconds'])} ago" if m["unprocessed"] else ""
    lines = [title, f"  messages waiting to be processed: {m['unprocessed']:,}{oldest}"]
    if stream is not None:
        if "error" in stream:
            lines.append(f"  stream: unavailable ({stream['error']})")
        else:
            lines.append(
                f"  stream: {stream['length']:,} entries not done, {stream['pending']:,} of them taken by a worker"
            )
    lines.append(f"  outbox: {o['queued']:,} queued, {o['sending']:,} sending, {o['failed']:,} failed")
    processes = report.get("processes")
    if stream is None or processes is None:
        return lines
    lines.append(f"Processes ({len(processes)}):" if processes else "Processes: none running")
    for p in processes:
        what = []
        if p["leader"]:
            what.append("runs the schedulers")
        if p["processed"] is not None:
            what.append(f"processed {p['processed']:,}")
        what.append(f"up {_duration(p['up_seconds'])}, last heartbeat {_duration(p['beat_age_seconds'])} ago")
        lines.append(f"  {p['role']:<8} {p['name']}: " + "; ".join(what))
    return lines


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    if seconds < 60:
        return f"{seconds:.0f}s"
    if seconds < 3600:
        return f"{seconds / 60:.0f}m"
    if seconds < 86400:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds / 86400:.1f}d"
