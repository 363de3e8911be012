"""Classification heads on the pooled sentence vector, their losses, and temperature calibration."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from nlp.labels import HEADS


class Heads(nn.Module):
    """One linear layer per head; `temperature` rescales logits so probabilities are calibrated."""

    temperature: torch.Tensor

    def __init__(self, dim: int, dropout: float = 0.1) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.linear = nn.ModuleDict({name: nn.Linear(dim, len(labels)) for name, labels in HEADS.items()})
        self.register_buffer("temperature", torch.ones(len(HEADS)))

    def forward(self, pooled: torch.Tensor) -> dict[str, torch.Tensor]:
        """Raw logits per head (before temperature)."""
        x = self.dropout(pooled)
        return {name: layer(x) for name, layer in self.linear.items()}

    def probabilities(self, pooled: torch.Tensor) -> dict[str, torch.Tensor]:
        """Calibrated probabilities per head."""
        logits = self.forward(pooled)
        temps = dict(zip(HEADS, self.temperature.tolist(), strict=True))
        return {name: torch.softmax(z / temps[name], dim=-1) for name, z in logits.items()}


def set_nll(logits: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
    """-log of the probability put on the allowed labels (a 0/1 mask); one allowed label is plain cross-entropy."""
    log_p = F.log_softmax(logits, dim=-1)
    return -torch.logsumexp(log_p.masked_fill(allowed == 0, float("-inf")), dim=-1)


def fit_temperature(logits: torch.Tensor, allowed: torch.Tensor) -> float:
    """The temperature that minimises held-out negative log-likelihood (Guo et al. 2017)."""
    log_t = torch.zeros(1, requires_grad=True)
    opt = torch.optim.LBFGS([log_t], lr=0.1, max_iter=100)

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = set_nll(logits / log_t.exp(), allowed).mean()
        loss.backward()
        return loss

    opt.step(closure)
    return float(log_t.detach().exp().clamp(0.05, 20.0))
