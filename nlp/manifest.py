"""What a weights directory holds: file names and the JSON manifest (readable without PyTorch)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

WEIGHTS_DIR = Path(__file__).parent / "weights"
MANIFEST = "manifest.json"
BLOCKS = "encoder_top.safetensors"
HEADS_FILE = "heads.safetensors"
PACKAGED = "packaged:"  # base_model prefix for the encoder that ships with Rapport


@dataclass(frozen=True, slots=True)
class Manifest:
    """What the weights were trained on top of, and how to put them back."""

    version: str
    base_model: str  # "packaged:all-MiniLM-L6-v2" or the path / hub id given to `rapport train`
    split: int  # blocks from this index on are stored here
    max_length: int
    hidden_size: int
    temperatures: dict[str, float] = field(default_factory=dict)
    # Probability at which the binary heads say yes (urgent, abusive), chosen on validation tweets by
    # stage 3 of training (nlp/tweets.py); a head not listed says yes at 0.5.
    thresholds: dict[str, float] = field(default_factory=dict)
    trained: dict[str, object] = field(default_factory=dict)  # data, command, seconds, for the model card

    @property
    def packaged(self) -> bool:
        return self.base_model.startswith(PACKAGED)


def read_manifest(weights: Path) -> Manifest:
    return Manifest(**json.loads((weights / MANIFEST).read_text()))
