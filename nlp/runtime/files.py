"""An exported encoder directory: what the ONNX path reads, and where the packaged one lives.

`rapport model export` writes one from a Hugging Face encoder directory (the packaged MiniLM's is
nlp/minilm/, shipped with Rapport): config.json, tokenizer.json, the base weights in fp16 and the
weightless fp32 and int8 graphs. The fine-tuned blocks and heads stay in the weights directory.
"""

from __future__ import annotations

from pathlib import Path

from nlp.runtime.spec import graph_file

PACKAGED_DIR = Path(__file__).resolve().parents[1] / "minilm"
CONFIG = "config.json"
TOKENIZER = "tokenizer.json"
BASE = "base.safetensors"
SOURCE = "SOURCE.json"
FILES = (CONFIG, TOKENIZER, BASE, graph_file(False), graph_file(True))


class NotExported(RuntimeError):
    """The encoder has no exported directory the ONNX path can run."""


def exported_dir(model: str | None) -> Path:
    """The exported directory for an encoder (None: the packaged MiniLM); NotExported if there is none."""
    directory = Path(model) if model else PACKAGED_DIR
    missing = [name for name in FILES if not (directory / name).is_file()]
    if missing:
        how = "rapport model export" if model is None else f"rapport model export --model {model} --out DIR"
        raise NotExported(
            f"no ONNX encoder in {directory} (missing {', '.join(missing)}): build it with `{how}`"
            + ("" if model is None else " and set [nlp] model = DIR")
        )
    return directory
