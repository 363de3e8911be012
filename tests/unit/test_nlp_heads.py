"""Partial-label loss and temperature scaling."""

import pytest
import torch
from torch.nn import functional as F

from nlp.heads import MIN_TEMPERATURE, Heads, fit_temperature, set_nll
from nlp.labels import HEADS


def test_set_nll_with_one_allowed_label_is_cross_entropy() -> None:
    logits = torch.tensor([[2.0, 0.5, -1.0]])
    allowed = torch.tensor([[0, 1, 0]])
    assert torch.allclose(set_nll(logits, allowed), F.cross_entropy(logits, torch.tensor([1]), reduction="none"))


def test_set_nll_is_zero_when_every_label_is_allowed() -> None:
    logits = torch.randn(4, 7)
    assert torch.allclose(set_nll(logits, torch.ones(4, 7, dtype=torch.long)), torch.zeros(4), atol=1e-6)


def test_temperature_softens_overconfident_logits() -> None:
    torch.manual_seed(0)
    truth = torch.randint(0, 3, (400,))
    noisy = torch.where(torch.rand(400) < 0.6, truth, torch.randint(0, 3, (400,)))
    logits = F.one_hot(noisy, 3).float() * 10  # certain, but often wrong
    assert fit_temperature(logits, F.one_hot(truth, 3)) > 2.0


def test_temperature_on_separable_data_stays_finite_and_in_range() -> None:
    # Perfectly separated logits: the likelihood improves without end as the temperature falls,
    # which sent the old unbounded optimiser to NaN.
    truth = torch.arange(40) % 3
    logits = F.one_hot(truth, 3).float() * 5
    assert MIN_TEMPERATURE <= fit_temperature(logits, F.one_hot(truth, 3)) < 0.5


def test_temperature_matches_the_best_of_a_dense_search() -> None:
    torch.manual_seed(1)
    truth = torch.randint(0, 4, (300,))
    logits = torch.randn(300, 4) + 2.5 * F.one_hot(truth, 4)
    allowed = F.one_hot(truth, 4)
    dense = torch.logspace(-1.3, 1.3, 2001)
    best = dense[int(torch.stack([set_nll(logits / t, allowed).mean() for t in dense]).argmin())]
    assert fit_temperature(logits, allowed) == pytest.approx(float(best), rel=1e-2)


def test_temperature_without_usable_rows_leaves_logits_alone() -> None:
    logits = torch.randn(5, 3)
    assert fit_temperature(logits, torch.zeros(5, 3, dtype=torch.long)) == 1.0


def test_probabilities_sum_to_one_per_head() -> None:
    heads = Heads(16).eval()
    probs = heads.probabilities(torch.randn(5, 16))
    assert set(probs) == set(HEADS)
    for p in probs.values():
        assert torch.allclose(p.sum(-1), torch.ones(5))


def test_temperature_of_logits_that_say_nothing_is_one() -> None:
    truth = torch.arange(30) % 3
    assert fit_temperature(torch.zeros(30, 3), F.one_hot(truth, 3)) == 1.0


def test_temperature_ignores_rows_it_cannot_use() -> None:
    torch.manual_seed(2)
    truth = torch.randint(0, 3, (200,))
    logits = torch.randn(200, 3) + 2 * F.one_hot(truth, 3)
    clean = fit_temperature(logits, F.one_hot(truth, 3))
    dirty_logits = torch.cat([logits, torch.tensor([[float("nan"), 0.0, 0.0]])])
    dirty_allowed = torch.cat([F.one_hot(truth, 3), torch.zeros(1, 3, dtype=torch.long)])
    assert fit_temperature(dirty_logits, dirty_allowed) == pytest.approx(clean)
