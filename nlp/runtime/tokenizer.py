"""Token ids from the encoder's tokenizer.json (the `tokenizers` library) and length-bucketed batches."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer

# Texts in, token ids (special tokens included, truncated to the given length) out.
Encode = Callable[[list[str], int], list[list[int]]]


def fast_tokenizer(path: Path) -> Encode:
    """The tokenizer transformers' fast tokenizer runs, without transformers."""
    tokenizer = Tokenizer.from_file(str(path))
    tokenizer.no_padding()  # batches are padded by `batches`, after sorting by length

    def encode(texts: list[str], max_length: int) -> list[list[int]]:
        tokenizer.enable_truncation(max_length)
        return [e.ids for e in tokenizer.encode_batch(texts)]

    return encode


@dataclass(frozen=True, slots=True)
class Batch:
    """Token ids of texts that share a length bucket, with their positions in the caller's list."""

    index: list[int]
    input_ids: np.ndarray  # int64, batch x length, padded
    attention_mask: np.ndarray  # int64, 1 for tokens, 0 for padding


# Texts per encoder run. Small runs waste little padding: sorted by length, the widest of four texts
# is close to the narrowest. Measured on 640 real tweets (bench/classifier.py's set), ONNX fp32 on one
# thread, calls of 32 texts: 4 rows 132 texts/s, 8 rows 123, 16 rows 99, 32 rows 73; calls of 8 texts
# 109, 88, 91, 90. Larger runs only pay off when one call holds hundreds of texts.
ENCODER_BATCH = 4

# Most tokens (rows x padded width) in one batch: long texts come in smaller batches, so the encoder's
# working memory stays that of 32 texts of 64 tokens however long the texts are.
MAX_TOKENS = 2048


def batches(ids: Sequence[list[int]], batch_size: int, pad: int, max_tokens: int = MAX_TOKENS) -> Iterator[Batch]:
    """Sort by length and cut into batches, so padding stays small (length bucketing)."""
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    start = 0
    while start < len(order):
        end = start + 1  # sorted ascending, so the last text of a chunk sets its width
        while end < len(order) and end - start < batch_size and (end - start + 1) * len(ids[order[end]]) <= max_tokens:
            end += 1
        chunk = order[start:end]
        start = end
        width = max(len(ids[i]) for i in chunk)
        input_ids = np.full((len(chunk), width), pad, dtype=np.int64)
        mask = np.zeros((len(chunk), width), dtype=np.int64)
        for row, i in enumerate(chunk):
            input_ids[row, : len(ids[i])] = ids[i]
            mask[row, : len(ids[i])] = 1
        yield Batch(chunk, input_ids, mask)
