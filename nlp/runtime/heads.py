"""The classification heads in numpy: one linear layer per head, temperature-scaled softmax."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from safetensors.numpy import load_file

from nlp.labels import HEADS


class NumpyHeads:
    """The trained heads (`nlp.heads.Heads` wrote them) applied to pooled vectors."""

    def __init__(self, path: Path) -> None:
        tensors = load_file(str(path))
        self.weights = {h: tensors[f"linear.{h}.weight"].astype(np.float32) for h in HEADS}
        self.biases = {h: tensors[f"linear.{h}.bias"].astype(np.float32) for h in HEADS}
        temperature = tensors["temperature"].astype(np.float64)
        if temperature.shape != (len(HEADS),) or not np.isfinite(temperature).all() or (temperature <= 0).any():
            raise ValueError(f"{path}: head temperatures {temperature.tolist()} are not all > 0")
        self.temperatures = dict(zip(HEADS, temperature.tolist(), strict=True))

    @property
    def dim(self) -> int:
        return int(self.weights["sentiment"].shape[1])

    def probabilities(self, pooled: np.ndarray) -> dict[str, np.ndarray]:
        """Calibrated probabilities per head, one row per pooled vector."""
        out = {}
        for h in HEADS:
            z = (pooled @ self.weights[h].T + self.biases[h]) / self.temperatures[h]
            z = np.exp(z - z.max(axis=-1, keepdims=True))
            out[h] = (z / z.sum(axis=-1, keepdims=True)).astype(np.float32)
        return out
