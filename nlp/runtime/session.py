"""The encoder in ONNX Runtime: a weightless graph (nlp.runtime.graph) given the checkpoint tensors as weights."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort

from nlp.runtime.spec import EncoderSpec, graph_file
from nlp.runtime.weights import Checkpoints, arrays


class OnnxEncoder:
    """Mean-pooled sentence vectors from token ids, run by ONNX Runtime on the CPU."""

    def __init__(
        self,
        directory: Path,
        spec: EncoderSpec,
        checkpoints: Checkpoints,
        *,
        int8: bool,
        threads: int | None,
    ) -> None:
        self.spec = spec
        self.int8 = int8
        own = arrays(spec, checkpoints, int8)
        # The OrtValues and what they point into (mapped files, int8 matrices) must outlive the session.
        self._checkpoints = checkpoints
        self._arrays = own
        self._values = [ort.OrtValue.ortvalue_from_numpy(a) for a in own.values()]
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or 0  # 0: one per physical core
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # its warnings on unused initializers are not ours to fix
        options.add_external_initializers(list(own), self._values)
        self._session = ort.InferenceSession(
            str(directory / graph_file(int8)), options, providers=["CPUExecutionProvider"]
        )
        # ONNX Runtime has made its own folded fp32 copy; were it to read the mapping again, the pages
        # would come back from the file.
        checkpoints.release()

    def positions(self, mask: np.ndarray) -> np.ndarray:
        """Position ids as the encoder's own embeddings number them."""
        if self.spec.roberta_like:  # padding_idx + 1 onwards, padding left at padding_idx
            return (np.cumsum(mask, axis=1) * mask + self.spec.pad_token_id).astype(np.int64)
        return np.broadcast_to(np.arange(mask.shape[1], dtype=np.int64), mask.shape)

    def __call__(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        feeds = {
            "input_ids": input_ids,
            "position_ids": np.ascontiguousarray(self.positions(attention_mask)),
            "attention_mask": attention_mask,
        }
        return self._session.run(None, feeds)[0]  # type: ignore[no-any-return]
