"""Classification heads on the pooled sentence vector, their losses, and temperature calibration."""

from __future__ import annotations

import math

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
        return self.calibrated(self.forward(pooled))

    def calibrated(self, logits: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Raw logits per head turned into calibrated probabilities."""
        temps = dict(zip(HEADS, self.temperature.tolist(), strict=True))
        return {name: torch.softmax(z / temps[name], dim=-1) for name, z in logits.items()}


def set_nll(logits: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
    """-log of the probability put on the allowed labels (a 0/1 mask); one allowed label is plain cross-entropy."""
    log_p = F.log_softmax(logits, dim=-1)
    return -torch.logsumexp(log_p.masked_fill(allowed == 0, float("-inf")), dim=-1)


# Temperatures outside this range mean the calibration data is degenerate (separable, or tiny),
# not that the model needs them.
MIN_TEMPERATURE, MAX_TEMPERATURE = 0.05, 20.0


def fit_temperature(logits: torch.Tensor, allowed: torch.Tensor) -> float:
    """The temperature that minimises held-out negative log-likelihood (Guo et al. 2017).

    A bounded search, not gradient descent: on separable calibration data the likelihood keeps
    improving as the temperature falls, and an unbounded optimiser walked off to NaN, which then
    turned every probability the model gave into NaN. A coarse grid over log-temperature finds the
    best bracket (the partial-label loss need not be convex), golden sections refine it.
    """
    # Rows with no allowed label or a non-finite logit would make every loss inf or NaN.
    usable = (allowed.sum(-1) > 0) & torch.isfinite(logits).all(-1)
    z, allowed = logits.detach().double()[usable], allowed[usable]
    if len(z) == 0:
        return 1.0

    def nll(log_t: float) -> float:
        return float(set_nll(z / math.exp(log_t), allowed).mean())

    lo, hi = math.log(MIN_TEMPERATURE), math.log(MAX_TEMPERATURE)
    grid = [lo + (hi - lo) * i / 60 for i in range(61)]
    losses = [nll(t) for t in grid]
    best = min(range(len(grid)), key=lambda i: (losses[i], abs(grid[i])))
    a, b = grid[max(best - 1, 0)], grid[min(best + 1, len(grid) - 1)]
    ratio = (math.sqrt(5) - 1) / 2
    c, d = b - ratio * (b - a), a + ratio * (b - a)
    at_c, at_d = nll(c), nll(d)
    for _ in range(30):  # each step keeps one probe and evaluates one new point
        if at_c <= at_d:
            b, d, at_d = d, c, at_c
            c = b - ratio * (b - a)
            at_c = nll(c)
        else:
            a, c, at_c = c, d, at_d
            d = a + ratio * (b - a)
            at_d = nll(d)
    found = (a + b) / 2
    at_found = nll(found)
    # A flat loss (logits that say nothing) or one no better than T = 1 leaves the logits as they are.
    if not math.isfinite(at_found) or at_found >= losses[len(grid) // 2] - 1e-9:  # grid[30] is log T = 0
        return 1.0
    return math.exp(found)
