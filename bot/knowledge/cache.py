"""Phrasing vectors kept on disk, so a restart does not re-embed a large knowledge base.

One file per knowledge folder and encoder: it holds the encoder's version, every phrasing embedded
and its vector. A changed folder re-embeds only the phrasings that are new, and the file is rewritten
with exactly the current ones; a different encoder version starts the file afresh.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

Embed = Callable[[Sequence[str]], Any]  # texts -> 2-D array, one row per text


def default_folder(database_url: str) -> Path:
    """`.rapport-cache/` beside a SQLite file; the user's cache folder for PostgreSQL or an in-memory database."""
    # Imported here: SQLAlchemy's URL parser is not needed by `rapport classify`, which loads this module.
    from bot.storage.database import sqlite_file

    if (path := sqlite_file(database_url)) is not None:
        return Path(path).parent / ".rapport-cache"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "rapport"


class VectorCache:
    """Unit-length vectors for texts, read from and written to one `.npz` file."""

    def __init__(self, folder: Path, knowledge: Path) -> None:
        # Named after the knowledge folder, so two configurations sharing a cache folder keep apart.
        name = hashlib.sha256(str(knowledge.resolve()).encode()).hexdigest()[:16]
        self.path = folder / f"knowledge-{name}.npz"

    def vectors(self, texts: Sequence[str], embed: Embed, version: str) -> np.ndarray:
        """One normalised row per text; only texts the file does not hold for `version` are embedded."""
        known = self._read(version)
        missing = [t for t in dict.fromkeys(texts) if t not in known]
        if missing:
            log.info("knowledge base: embedding %d new phrasings", len(missing))
            for text, row in zip(missing, unit(np.asarray(embed(missing), dtype=np.float32)), strict=True):
                known[text] = row
        if missing or set(known) != set(texts):
            self._write(version, {t: known[t] for t in texts})
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack([known[t] for t in texts])

    def _read(self, version: str) -> dict[str, np.ndarray]:
        try:
            with np.load(self.path, allow_pickle=False) as data:
                if str(data["version"]) != version:
                    return {}
                return dict(zip(data["texts"].tolist(), data["vectors"], strict=True))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, KeyError) as exc:  # a torn or foreign file: rebuild it
            log.warning("knowledge base: ignoring unreadable vector cache %s (%s)", self.path, type(exc).__name__)
            return {}

    def _write(self, version: str, vectors: dict[str, np.ndarray]) -> None:
        texts = list(vectors)
        matrix = np.stack(list(vectors.values())) if vectors else np.zeros((0, 0), dtype=np.float32)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # Written beside, then renamed: a reader never sees half a file, and a crash leaves the old one.
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".knowledge-", suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as fh:
                    np.savez(fh, version=np.array(version), texts=np.array(texts, dtype=str), vectors=matrix)
                os.replace(tmp, self.path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:  # a read-only folder costs start-up time, not the answers
            log.warning("knowledge base: cannot write the vector cache %s (%s)", self.path, exc.strerror)


def unit(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to length 1 (zero rows stay zero), so a dot product is the cosine."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)
