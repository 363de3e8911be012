"""The shipped weight files: the fine-tuned top blocks (fp16), the heads and a small JSON manifest.

Only what training changed is stored; the frozen rest comes from the base model, so the files
stay a few megabytes instead of a 90 MB checkpoint. Reading the manifest needs no PyTorch
(`nlp.manifest`); writing and loading the blocks into a torch model does.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from nlp import encoder as enc
from nlp.heads import Heads
from nlp.manifest import BLOCKS, HEADS_FILE, MANIFEST, WEIGHTS_DIR, Manifest, read_manifest

__all__ = ["WEIGHTS_DIR", "Manifest", "load_into", "read_manifest", "save"]


def save(out: Path, model: nn.Module, heads: Heads, manifest: Manifest) -> None:
    """Write the top blocks, the heads and the manifest into `out`."""
    out.mkdir(parents=True, exist_ok=True)
    prefix = "encoder.layer."
    blocks = {
        k: v.detach().to(torch.float16).contiguous()
        for k, v in model.state_dict().items()
        if k.startswith(prefix) and int(k[len(prefix) :].split(".")[0]) >= manifest.split
    }
    save_file(blocks, str(out / BLOCKS))
    save_file({k: v.detach().contiguous() for k, v in heads.state_dict().items()}, str(out / HEADS_FILE))
    (out / MANIFEST).write_text(json.dumps(asdict(manifest), indent=2) + "\n")
    for name in (BLOCKS, HEADS_FILE):
        (out / name).chmod(0o644)  # safetensors writes 0600; installed package data must be world-readable


def load_into(weights: Path, model: nn.Module) -> tuple[Heads, Manifest]:
    """Overwrite the model's top blocks with the trained ones and build the heads."""
    manifest = read_manifest(weights)
    if model.config.hidden_size != manifest.hidden_size:  # type: ignore[union-attr]
        raise ValueError(f"weights expect hidden size {manifest.hidden_size}, model has {model.config.hidden_size}")  # type: ignore[union-attr]
    blocks = load_file(str(weights / BLOCKS))
    missing = [k for k in blocks if k not in model.state_dict()]
    if missing or len(enc.layers(model)) <= manifest.split:
        raise ValueError(f"weights do not fit this model (e.g. {missing[:2]})")
    model.load_state_dict({k: v.float() for k, v in blocks.items()}, strict=False)
    heads = Heads(manifest.hidden_size)
    heads.load_state_dict(load_file(str(weights / HEADS_FILE)))
    if not bool(torch.isfinite(heads.temperature).all()) or bool((heads.temperature <= 0).any()):
        raise ValueError(f"{weights / HEADS_FILE}: head temperatures {heads.temperature.tolist()} are not all > 0")
    heads.eval()
    return heads, manifest
