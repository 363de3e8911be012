"""What the ONNX graph of a BERT-family encoder depends on, read from the encoder's config.json."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

# RoBERTa-style encoders number positions from padding_idx + 1 and skip padding; BERT counts from 0.
ROBERTA_LIKE = ("roberta", "xlm-roberta", "camembert")
SUPPORTED = ("bert", *ROBERTA_LIKE)


def graph_file(int8: bool) -> str:
    """The graph's file name in an encoder directory."""
    return "encoder-int8.onnx" if int8 else "encoder.onnx"


@dataclass(frozen=True, slots=True)
class EncoderSpec:
    """The sizes and conventions of an encoder: enough to build its graph and place its weights."""

    model_type: str
    layers: int
    hidden: int
    heads: int
    intermediate: int
    eps: float
    pad_token_id: int
    vocab_size: int
    max_positions: int
    type_vocab: int

    @classmethod
    def read(cls, directory: Path) -> EncoderSpec:
        """From a Hugging Face config.json; raises ValueError for architectures the graph cannot express."""
        c = json.loads((directory / "config.json").read_text())
        kind = c.get("model_type")
        if kind not in SUPPORTED or c.get("hidden_act", "gelu") != "gelu":
            act = c.get("hidden_act")
            raise ValueError(f"{directory}: the ONNX path does not support a {kind} encoder with {act} activations")
        if c.get("position_embedding_type", "absolute") != "absolute":
            raise ValueError(f"{directory}: only absolute position embeddings are supported by the ONNX path")
        return cls(
            model_type=kind,
            layers=int(c["num_hidden_layers"]),
            hidden=int(c["hidden_size"]),
            heads=int(c["num_attention_heads"]),
            intermediate=int(c["intermediate_size"]),
            eps=float(c.get("layer_norm_eps", 1e-12)),
            pad_token_id=int(c.get("pad_token_id") or 0),
            vocab_size=int(c["vocab_size"]),
            max_positions=int(c["max_position_embeddings"]),
            type_vocab=int(c.get("type_vocab_size", 2)),
        )

    def write(self, directory: Path) -> None:
        """A config.json that `read` accepts (the keys Hugging Face uses)."""
        c = {
            "model_type": self.model_type,
            "num_hidden_layers": self.layers,
            "hidden_size": self.hidden,
            "num_attention_heads": self.heads,
            "intermediate_size": self.intermediate,
            "layer_norm_eps": self.eps,
            "pad_token_id": self.pad_token_id,
            "vocab_size": self.vocab_size,
            "max_position_embeddings": self.max_positions,
            "type_vocab_size": self.type_vocab,
            "hidden_act": "gelu",
            "position_embedding_type": "absolute",
        }
        (directory / "config.json").write_text(json.dumps(c, indent=2, sort_keys=True) + "\n")

    @property
    def roberta_like(self) -> bool:
        return self.model_type in ROBERTA_LIKE

    @property
    def max_length(self) -> int:
        """Longest input the position table allows (RoBERTa spends padding_idx + 1 rows before the first)."""
        return self.max_positions - (self.pad_token_id + 1 if self.roberta_like else 0)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)
