"""`rapport train` end to end on a tiny random encoder and a handful of examples (no shared data)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from nlp.artifacts import read_manifest
from nlp.crossval import BLEND_WEIGHTS
from nlp.lexical import Lexical
from nlp.loader import load_classifier
from nlp.model import TransformerClassifier
from nlp.recipe import CV_FILE, train
from nlp.train import TrainConfig

pytestmark = pytest.mark.model

ROWS = {
    "sentiment/train.jsonl": [{"text": f"good day {i}", "sentiment": "positive"} for i in range(30)]
    + [{"text": f"awful day {i}", "sentiment": "negative"} for i in range(30)]
    + [{"text": f"a day {i}", "sentiment": "neutral"} for i in range(30)],
    "abuse/train.jsonl": [{"text": f"you idiot {i}", "offensive": 1} for i in range(20)]
    + [{"text": f"nice one {i}", "offensive": 0} for i in range(20)],
    "complaints/train.jsonl": [{"id": str(i), "text": f"broken order {i}", "complaint": 1} for i in range(40)]
    + [{"id": str(100 + i), "text": f"lovely weather {i}", "complaint": 0} for i in range(40)],
    "intents/bitext_customer_support.jsonl": [{"text": f"cancel it {i}", "intent": "cancel_order"} for i in range(20)],
    "intents/banking77_train.jsonl": [{"text": f"card stolen {i}", "intent": "lost_or_stolen_card"} for i in range(20)],
    "intents/clinc150_train.jsonl": [{"text": f"hello there {i}", "intent": "greeting"} for i in range(20)],
}


@pytest.fixture(scope="module")
def tiny_encoder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-block, 32-wide random BERT with the packaged tokenizer, saved to disk."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    from transformers import AutoTokenizer, BertConfig, BertModel

    from nlp.encoder import packaged_model_path

    path = tmp_path_factory.mktemp("tiny-bert")
    tokenizer = AutoTokenizer.from_pretrained(packaged_model_path())
    sizes = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64}
    config = BertConfig(vocab_size=tokenizer.vocab_size, **sizes)
    BertModel(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """ROWS laid out like ../shared/data."""
    root = tmp_path / "data"
    for name, rows in ROWS.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("".join(json.dumps(r) + "\n" for r in rows))
    return root


@pytest.mark.parametrize("complaint_blend", [False, True])
def test_train_writes_weights_that_load_and_classify(
    tiny_encoder: Path, data: Path, tmp_path: Path, complaint_blend: bool
) -> None:
    out = tmp_path / "weights"
    cfg = TrainConfig(
        model=str(tiny_encoder),
        trainable_layers=1,
        batch_size=8,
        cache_dir=str(tmp_path / "cache"),
        complaint_blend=complaint_blend,
    )
    manifest = train(data, out, extra=(), cfg=cfg, cv_folds=2)

    assert read_manifest(out) == manifest
    assert manifest.split == 1 and manifest.base_model == str(tiny_encoder)
    cv = json.loads((out / CV_FILE).read_text())
    assert cv["n"] == len(ROWS["complaints/train.jsonl"]) and len(cv["fold_blend_weights"]) == 2
    assert cv["complaint_blend"] is complaint_blend
    headline = "blended_macro_f1" if complaint_blend else "heads_only_macro_f1"
    assert cv["macro_f1"] == cv[headline]
    lexical = Lexical.load(out)
    assert lexical is not None
    if complaint_blend:
        assert cv["shipped_blend_weight"] in BLEND_WEIGHTS and set(lexical.blend) == {"sentiment", "complaint"}
    else:
        assert cv["shipped_blend_weight"] is None and set(lexical.blend) == {"sentiment"}
    assert sum(f.stat().st_size for f in out.iterdir()) < 1_000_000

    classifier = load_classifier(model=str(tiny_encoder), weights=str(out), backend="torch")
    assert isinstance(classifier, TransformerClassifier)
    (a,) = classifier.classify(["my order is broken"])
    assert sum(a.head("intent").values()) == pytest.approx(1.0, abs=1e-4)


def test_trained_weights_run_on_the_exported_encoder_as_in_pytorch(
    tiny_encoder: Path, data: Path, tmp_path: Path
) -> None:
    """Weights with a frozen lower block (split 1) on `rapport model export`'s copy of their encoder."""
    pytest.importorskip("onnx")
    from nlp.cli import export

    out = tmp_path / "weights"
    cfg = TrainConfig(model=str(tiny_encoder), trainable_layers=1, batch_size=8, cache_dir=str(tmp_path / "cache"))
    assert train(data, out, extra=(), cfg=cfg, cv_folds=0).split == 1
    export(model=tiny_encoder, out=tmp_path / "exported")
    texts = ["my order is broken", "thanks a lot, lovely day", "cancel it now please, I have waited for weeks"]
    torch_ = load_classifier(model=str(tiny_encoder), weights=str(out), backend="torch")
    onnx = load_classifier(model=str(tmp_path / "exported"), weights=str(out), backend="auto")
    assert isinstance(onnx, TransformerClassifier) and onnx.backend == "onnx"
    assert isinstance(torch_, TransformerClassifier)
    ours, theirs = onnx.probabilities(texts), torch_.probabilities(texts)
    for head, p in theirs.items():
        assert np.abs(ours[head] - p).max() < 2e-3, head


def test_default_recipe_fine_tunes_every_block(tiny_encoder: Path, data: Path, tmp_path: Path) -> None:
    out = tmp_path / "weights"
    out.mkdir()
    (out / CV_FILE).write_text('{"macro_f1": 0.99}')  # an earlier run's scores, not these weights'
    manifest = train(
        data, out, extra=(), cfg=TrainConfig(model=str(tiny_encoder), batch_size=8, cache_dir=str(tmp_path / "cache"))
    )
    assert manifest.split == 0  # the default asks for more blocks than the tiny encoder has: all of them
    assert not (out / CV_FILE).exists()  # no cross-validation ran, so none is reported
    classifier = load_classifier(model=str(tiny_encoder), weights=str(out), backend="torch")
    assert isinstance(classifier, TransformerClassifier)


def test_stage_one_is_reused_when_only_later_steps_change(
    tiny_encoder: Path, data: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    base = {"model": str(tiny_encoder), "trainable_layers": 1, "batch_size": 8, "cache_dir": str(tmp_path / "cache")}
    train(data, tmp_path / "a", extra=(), cfg=TrainConfig(**base))
    caplog.clear()
    with caplog.at_level("INFO", logger="nlp.recipe"):
        train(data, tmp_path / "b", extra=(), cfg=TrainConfig(**base, complaint_blend=True))
    assert any(r.getMessage().startswith("stage 1 from") for r in caplog.records)
    caplog.clear()
    with caplog.at_level("INFO", logger="nlp.recipe"):
        train(data, tmp_path / "c", extra=(), cfg=TrainConfig(**base | {"lr_layers": 5e-5}))
    assert not any(r.getMessage().startswith("stage 1 from") for r in caplog.records)


def test_stage_two_ships_the_average_of_its_runs(tiny_encoder: Path, data: Path, tmp_path: Path) -> None:
    from dataclasses import replace

    import torch

    from nlp.recipe import corpus
    from nlp.train import Labels, fit, prepare, stage2, training_index

    cfg = TrainConfig(model=str(tiny_encoder), batch_size=8, cache_dir=str(tmp_path / "cache"), stage2_runs=2)
    examples = corpus(data, extra=()).train
    top, states = prepare(examples, cfg)
    labels = Labels.of(examples)
    start = {k: v.clone() for k, v in top.state_dict().items()}
    runs = []
    for seed in (0, 1):
        top.load_state_dict(start)
        fit(top, states, labels, training_index(examples, cfg.stage2, seed + 1), replace(cfg, seed=seed))
        runs.append({k: v.clone() for k, v in top.state_dict().items()})

    top.load_state_dict(start)
    stage2(top, states, labels, examples, cfg)

    block = "model.encoder.layer.0.attention.self.query.weight"
    assert not torch.equal(runs[0][block], runs[1][block])  # two seeds, two different models
    for name in (block, "heads.linear.intent.weight"):
        assert torch.allclose(top.state_dict()[name], (runs[0][name] + runs[1][name]) / 2, atol=1e-6)


def test_blocks_run_in_two_parts_match_the_models_own_forward(tiny_encoder: Path) -> None:
    """Training caches blocks [0, split) and fine-tunes the rest: together they must equal BertModel's forward,
    padding masked, so a change in how transformers builds attention masks fails here."""
    import torch

    from nlp import encoder as enc

    tokenizer, model = enc.load_backbone(str(tiny_encoder))
    texts = ["short", "a much longer message about a parcel that never arrived at all"]
    (batch,) = enc.batches(tokenizer, texts, max_length=64, batch_size=8)
    assert batch.attention_mask.min() == 0  # the batch is padded, so the mask matters
    with torch.inference_mode():
        whole = model(input_ids=batch.input_ids, attention_mask=batch.attention_mask).last_hidden_state
        expected = enc.mean_pool(whole, batch.attention_mask)
        lower = enc.run_lower(model, batch.input_ids, batch.attention_mask, 1)
        parts = enc.run_upper(model, lower, batch.attention_mask, 1)
    torch.testing.assert_close(parts, expected, rtol=1e-4, atol=1e-5)


def _with_tweets(data: Path) -> list[dict[str, object]]:
    """The TWCS sample beside the other sets: our labelled ids, with texts of ours standing in for the tweets."""
    from nlp.hand_labels import LABELS
    from tests.unit.test_nlp_tweets import write_sample

    rows = [json.loads(line) for line in LABELS.read_text().splitlines() if line.strip()]
    write_sample(data, rows)
    return rows


def test_stage_three_trains_on_the_hand_labelled_tweets_and_chooses_the_urgent_threshold(
    tiny_encoder: Path, data: Path, tmp_path: Path
) -> None:
    from nlp import tweets

    _with_tweets(data)
    train_tweets, validation = tweets.hand_labelled(data)
    out = tmp_path / "weights"
    cfg = TrainConfig(
        model=str(tiny_encoder), batch_size=8, cache_dir=str(tmp_path / "cache"), tweets_layers=1, tweets_epochs=1
    )
    manifest = train(data, out, extra=(), cfg=cfg)

    assert manifest.trained["tweets_train"] == len(train_tweets) and manifest.trained["tweets_validation"] == len(
        validation
    )
    assert int(manifest.trained["stage3_examples"]) >= len(train_tweets)  # type: ignore[call-overload]
    assert manifest.split == 0  # stage 2 trained every block, so every block is stored
    # Enough urgent tweets in the validation part to choose a threshold; abusive has too few and stays at 0.5.
    assert sum(e.urgent == 1 for e in validation) >= tweets.MIN_POSITIVES
    assert manifest.thresholds["urgent"] in tweets.THRESHOLDS
    assert read_manifest(out) == manifest

    # The classifier applies the manifest's threshold: at 0 everything is urgent, above 1 only what a cue finds.
    text = "hello, a note about my order"
    for threshold, urgent in ((0.0, True), (1.01, False)):
        raw = json.loads((out / "manifest.json").read_text())
        raw["thresholds"]["urgent"] = threshold
        (out / "manifest.json").write_text(json.dumps(raw))
        classifier = load_classifier(model=str(tiny_encoder), weights=str(out), backend="torch")
        assert isinstance(classifier, TransformerClassifier)
        (a,) = classifier.classify([text])
        assert a.urgent is urgent


def test_training_from_earlier_weights_runs_stage_three_only(tiny_encoder: Path, data: Path, tmp_path: Path) -> None:
    from safetensors.numpy import load_file

    _with_tweets(data)
    base = tmp_path / "base"
    common = {"model": str(tiny_encoder), "batch_size": 8, "cache_dir": str(tmp_path / "cache")}
    before = train(data, base, extra=(), cfg=TrainConfig(**common, tweets_epochs=0), cv_folds=2)
    assert "stage3_examples" not in before.trained

    out = tmp_path / "tuned"
    cfg = TrainConfig(**common, tweets_layers=1, tweets_epochs=1)
    after = train(data, out, extra=(), cfg=cfg, cv_folds=2, start_from=base)

    assert after.trained["start_from"] == before.version and after.trained["cv_folds"] == 0
    assert int(after.trained["stage3_examples"]) > 0  # type: ignore[call-overload]
    # The folds scored stages 1 and 2 of the earlier weights: carried over, and said so.
    cv = json.loads((out / CV_FILE).read_text())
    assert cv["macro_f1"] == json.loads((base / CV_FILE).read_text())["macro_f1"]
    assert cv["weights"] == before.version and "not rerun" in cv["stage3"]
    # Stage 3 trained the top block only: the one below is the earlier weights' own.
    old, new = load_file(str(base / "encoder_top.safetensors")), load_file(str(out / "encoder_top.safetensors"))
    assert old.keys() == new.keys()
    lower = [k for k in old if k.startswith("encoder.layer.0.")]
    upper = [k for k in old if k.startswith("encoder.layer.1.")]
    assert lower and all(np.array_equal(old[k], new[k]) for k in lower)
    assert any(not np.array_equal(old[k], new[k]) for k in upper)
