"""`rapport classify` as a user runs it runs the real model without loading PyTorch or transformers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.model


def imported_modules(stderr: str) -> set[str]:
    """Top-level names of every module `python -X importtime` reports as imported."""
    names = set()
    for line in stderr.splitlines():
        if line.startswith("import time:") and line.count("|") == 2:
            names.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    return names


@pytest.fixture(scope="module")
def classify_imports(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """What a cold `rapport classify "..."` process imports (it must answer with the ONNX model)."""
    tmp_path = tmp_path_factory.mktemp("classify")
    (tmp_path / "rapport.toml").write_text('[nlp]\nbackend = "auto"\nthreads = 2\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAPPORT_")}
    env.update(PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1", COLUMNS="200")  # this checkout's code, not another's
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "bot", "classify", "Please cancel my subscription today"],
        cwd=tmp_path,
        env=env | {"RAPPORT_CONFIG": str(tmp_path / "rapport.toml")},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "+onnx" in done.stdout  # the transformer classifier answered, not the keyword fallback
    modules = imported_modules(done.stderr)
    assert "onnxruntime" in modules  # the import report was read
    return modules


def test_rapport_classify_imports_neither_torch_nor_transformers(classify_imports: set[str]) -> None:
    assert not classify_imports & {"torch", "transformers", "sentence_transformers"}


def test_rapport_classify_imports_no_storage_or_platform_library(classify_imports: set[str]) -> None:
    """A cold classify pays for the classifier only: the CLIs import the bot in the commands that run it."""
    assert not classify_imports & {"sqlalchemy", "alembic", "aiohttp", "discord", "slack_bolt", "tweepy", "redis"}
