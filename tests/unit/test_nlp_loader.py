"""The loader falls back to keyword rules instead of failing."""

import logging
from pathlib import Path

import pytest
import typer

from nlp.cli import register
from nlp.loader import load_classifier
from nlp.rules import RuleClassifier
from nlp.types import Classifier


def test_missing_weights_fall_back_to_rules(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="nlp.loader"):
        classifier = load_classifier(weights=str(tmp_path / "nowhere"))
    assert isinstance(classifier, RuleClassifier)
    assert isinstance(classifier, Classifier)
    assert "keyword rules" in caplog.text


def test_unknown_backend_falls_back_to_rules() -> None:
    assert isinstance(load_classifier(backend="tpu"), RuleClassifier)


def test_register_adds_train_eval_and_model_export() -> None:
    app = typer.Typer()
    register(app)
    assert {c.name for c in app.registered_commands} == {"train", "eval"}
    (group,) = app.registered_groups
    assert group.name == "model"
    assert [c.name for c in group.typer_instance.registered_commands] == ["export"]


@pytest.mark.parametrize("device", ["gpu", "tpu:0"])
def test_train_refuses_an_unknown_device_before_reading_any_data(tmp_path: Path, device: str) -> None:
    from nlp.cli import train

    with pytest.raises(typer.BadParameter, match='use "cpu"'):
        train(data=tmp_path / "absent", out=tmp_path / "out", device=device)
    assert not (tmp_path / "out").exists()
