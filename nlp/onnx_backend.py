"""Optional ONNX Runtime backend: the fine-tuned encoder exported once to an on-disk cache.

Exporting needs the `onnx` package (not a core dependency); without it the loader falls back to
PyTorch. Running needs only onnxruntime.
"""

from __future__ import annotations

import hashlib
import logging
import os
import warnings
from pathlib import Path

import torch
from torch import nn

from nlp import encoder as enc
from nlp.model import Pooler

log = logging.getLogger(__name__)


def cache_dir() -> Path:
    """Where exported models live: $RAPPORT_CACHE, else ~/.cache/rapport."""
    return Path(os.environ.get("RAPPORT_CACHE", Path.home() / ".cache" / "rapport"))


class _Pooled(nn.Module):
    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return enc.mean_pool(hidden, attention_mask)


def export(model: nn.Module, path: Path) -> None:
    """Write the encoder plus mean pooling as ONNX with dynamic batch and length."""
    ids = torch.ones((2, 8), dtype=torch.long)
    # The example batch is padded so the one path tracing records surely applies the attention mask
    # (transformers may skip building a mask when nothing is padded).
    mask = torch.ones_like(ids)
    mask[1, 5:] = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    dynamic = {0: "batch", 1: "length"}
    with warnings.catch_warnings():
        # The tracer's notes on Python-side branches are expected here: the mask path is the one traced.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            _Pooled(model).eval(),
            (ids, mask),
            str(tmp),
            input_names=["input_ids", "attention_mask"],
            output_names=["pooled"],
            dynamic_axes={"input_ids": dynamic, "attention_mask": dynamic, "pooled": {0: "batch"}},
            opset_version=17,
            dynamo=False,
        )
    tmp.replace(path)  # readers never see a half-written file


def fingerprint(model: nn.Module) -> str:
    """A short hash of the weights, so a retrained model never reuses a stale export."""
    h = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(tensor.detach().float().flatten()[:4096].numpy().tobytes())
    return h.hexdigest()[:16]


def onnx_pooler(model: nn.Module, threads: int | None) -> Pooler:
    """A pooler (see nlp.model) that runs the exported encoder in ONNX Runtime."""
    import onnxruntime as ort

    path = cache_dir() / f"encoder-{fingerprint(model)}.onnx"
    if not path.exists():
        log.info("exporting the encoder to %s (once)", path)
        export(model, path)
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or torch.get_num_threads()
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def run(input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        feeds = {"input_ids": input_ids.numpy(), "attention_mask": attention_mask.numpy()}
        return torch.from_numpy(session.run(None, feeds)[0])

    return run
