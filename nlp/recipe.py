"""`rapport train` end to end: read the data, fine-tune in two stages, calibrate, save.

Stage 1 fine-tunes on everything but the complaint tweets; stage 2 adds them. Keeping them out of
stage 1 lets cross-validation of complaint detection rerun only stage 2 per fold.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch

from nlp import artifacts, lexical, lexical_train, tweets
from nlp import encoder as enc
from nlp.crossval import OutOfFold, crossvalidate
from nlp.data import Corpus, Example, shared_corpus
from nlp.metrics import binary_report
from nlp.text import normalise
from nlp.train import Labels, Top, TrainConfig, calibrate, fit, prepare, stage2, training_index

log = logging.getLogger(__name__)

OWN_EXAMPLES = Path(__file__).parent / "data" / "examples.jsonl"
CV_FILE = "complaint_cv.json"


def _stage1(
    top: Top, states: list[torch.Tensor], labels: Labels, index: list[int], cfg: TrainConfig, rows: list[Example]
) -> None:
    """Stage 1, or its result from the cache when the same data and settings were trained before."""
    # Only what stage 1 depends on: its rows as the model sees them (a change to normalise() or a
    # relabelled example must not reuse a stale stage 1) and the settings other than stage 2's, the
    # blend and the cache's place.
    later = ("complaint_blend", "cache_dir", "tweets_layers", "tweets_epochs", "stage3", "stage3_lr_scale")
    settings = {k: v for k, v in asdict(cfg).items() if not k.startswith("stage2") and k not in later}
    seen = [(normalise(e.text), e.source, e.sentiment, e.intents, e.urgent, e.abusive) for e in rows]
    key = hashlib.sha256(json.dumps([settings, seen], default=str).encode())
    path = Path(cfg.cache_dir) / f"stage1-{key.hexdigest()[:16]}.pt"
    if path.exists():
        log.info("stage 1 from %s", path)
        top.load_state_dict(torch.load(path))
        return
    log.info("stage 1 on %d examples", len(index))
    fit(top, states, labels, index, cfg)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(top.state_dict(), path)


def _cv_summary(oof: OutOfFold, folds: int, blend: bool) -> tuple[dict[str, object], float | None]:
    """The scores `rapport eval` puts in the model card, and the complaint blend weight to ship.

    The headline figure is the shipped recipe's: the heads alone, or with `blend` the heads blended
    with the lexical model, each fold's weight chosen on the other folds, so no tweet helps choose
    the weight it is scored with. The other is reported beside it.
    """
    blended, fold_weights = oof.nested()
    r = binary_report(oof.truth, blended if blend else oof.encoder)
    everything = np.ones(len(oof.truth), dtype=bool)
    lexical_only = np.exp(oof.lexical_logp[:, 1])
    cv: dict[str, object] = {"folds": folds, "n": r.n, "macro_f1": r.macro_f1, "macro_recall": r.macro_recall}
    cv |= {"accuracy": r.accuracy, "confusion": r.confusion.tolist(), "complaint_blend": blend}
    cv |= {
        "heads_only_macro_f1": binary_report(oof.truth, oof.encoder).macro_f1,
        "blended_macro_f1": binary_report(oof.truth, blended).macro_f1,
        "lexical_only_macro_f1": binary_report(oof.truth, lexical_only).macro_f1,
        "fold_blend_weights": fold_weights,
    }
    weight = oof.best_weight(everything) if blend else None
    cv["shipped_blend_weight"] = weight
    return cv, weight


def corpus(data_root: Path, extra: Sequence[Path] = (OWN_EXAMPLES,)) -> Corpus:
    """The shared public sets plus our own labelled examples."""
    return shared_corpus(data_root, extra)


def _stages_1_and_2(
    data: Corpus, cfg: TrainConfig, cv_folds: int
) -> tuple[Top, dict[str, object] | None, dict[str, object]]:
    """Stage 1, the complaint cross-validation and stage 2: the model, the CV scores, manifest figures."""
    examples = data.train + data.calibration
    n_train = len(data.train)
    started = time.monotonic()
    top, states = prepare(examples, cfg)
    top.to(cfg.device)
    labels = Labels.of(examples)
    cached = round(time.monotonic() - started)
    stage1 = training_index(data.train, cfg.stage1, cfg.seed)
    _stage1(top, states, labels, stage1, cfg, [data.train[i] for i in stage1])
    cv: dict[str, object] | None = None
    if cv_folds:
        cv_started = time.monotonic()
        oof = crossvalidate(top, states, examples, n_train, cfg, cv_folds)
        cv = _cv_summary(oof, cv_folds, cfg.complaint_blend)[0]
        cv["seconds"] = round(time.monotonic() - cv_started)
        cv["stage3"] = "not rerun per fold: the folds score stages 1 and 2 of the recipe"
        log.info("complaint CV macro-F1 %.3f (heads alone %.3f)", cv["macro_f1"], cv["heads_only_macro_f1"])
    stage2_examples = stage2(top, states, labels, data.train, cfg)
    figures: dict[str, object] = {
        "stage1_examples": len(stage1),
        "stage2_examples": stage2_examples,
        "stage2_runs": cfg.stage2_runs,
        "caching_seconds": cached,
    }
    return top, cv, figures


def _from_weights(start_from: Path, cfg: TrainConfig) -> tuple[Top, dict[str, object] | None, dict[str, object]]:
    """Stages 1 and 2 as an earlier run left them in `start_from`, and that run's CV scores (if any)."""
    model = enc.load_backbone(cfg.model)[1]
    heads, base = artifacts.load_into(start_from, model)
    top = Top(model, base.split, heads)
    top.to(cfg.device)
    cv_file = start_from / CV_FILE
    cv = json.loads(cv_file.read_text()) if cv_file.exists() else None
    if cv is not None:
        cv["weights"] = base.version
        cv["stage3"] = f"not rerun per fold: the folds score stages 1 and 2 of {base.version}, trained before stage 3"
    keep = ("stage1_examples", "stage2_examples", "stage2_runs", "epochs", "seconds", "device", "threads", "note")
    figures: dict[str, object] = {"start_from": base.version, "stages_1_2": {k: base.trained.get(k) for k in keep}}
    return top, cv, figures


def _stage3(
    data_root: Path, data: Corpus, top: Top, cfg: TrainConfig
) -> tuple[Top, dict[str, float], dict[str, object]]:
    """Stage 3 on the hand-labelled tweets (when the TWCS sample is there), calibration, the thresholds."""
    tokenizer = enc.load_tokenizer(cfg.model)
    train_tweets, validation = tweets.hand_labelled(data_root)
    figures: dict[str, object] = {"tweets_train": len(train_tweets), "tweets_validation": len(validation)}
    if cfg.tweets_epochs and train_tweets:
        top, figures["stage3_examples"] = tweets.stage3(tokenizer, top, data.train + train_tweets, cfg)
        figures |= {"tweets_epochs": cfg.tweets_epochs, "tweets_layers": cfg.tweets_layers}
        figures["stage3_shares"] = dict(cfg.stage3)
    else:
        log.info("no stage 3: %s", "0 epochs asked" if train_tweets else f"no TWCS sample in {data_root}")
    calibration = tweets.lower_states(tokenizer, top.model, [e.text for e in data.calibration], top.split, cfg)
    temps = calibrate(top, calibration, Labels.of(data.calibration))
    log.info("temperatures %s", temps)
    thresholds: dict[str, float] = {}
    if validation:
        texts = [e.text for e in validation]
        thresholds = tweets.choose_thresholds(texts, validation, tweets.probabilities(top, tokenizer, texts, cfg))
    figures["temperatures"] = temps
    return top, thresholds, figures


def train(
    data_root: Path,
    out: Path,
    extra: Sequence[Path] = (OWN_EXAMPLES,),
    cfg: TrainConfig | None = None,
    cv_folds: int = 0,
    start_from: Path | None = None,
) -> artifacts.Manifest:
    """Train on `data_root` (+ `extra` JSON lines) and write the weights (and the CV scores) to `out`.

    With `start_from`, stages 1 and 2 are those weights (an earlier run of this recipe on the same
    data) and only stage 3, calibration, the thresholds and the lexical model run.
    """
    cfg = cfg or TrainConfig()
    started = time.monotonic()
    data = corpus(data_root, extra)
    if start_from is None:
        top, cv, figures = _stages_1_and_2(data, cfg, cv_folds)
    else:
        top, cv, figures = _from_weights(start_from, cfg)
    base_split = top.split
    top, thresholds, stage3_figures = _stage3(data_root, data, top, cfg)
    # Scores from an earlier run must not be read as these weights' (rapport eval prints the file).
    (out / CV_FILE).unlink(missing_ok=True)
    if cv is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / CV_FILE).write_text(json.dumps(cv, indent=2) + "\n")
    temps = stage3_figures.pop("temperatures")
    top.to("cpu")
    packaged = cfg.model is None
    split = min(base_split, top.split)  # every block either stage changed is stored
    manifest = artifacts.Manifest(
        version=f"minilm-top{cfg.trainable_layers}-{datetime.now(UTC):%Y%m%d}"
        if packaged
        else f"custom-top{cfg.trainable_layers}",
        base_model="packaged:all-MiniLM-L6-v2" if packaged else str(cfg.model),
        split=split,
        max_length=cfg.max_length,
        hidden_size=int(top.model.config.hidden_size),  # type: ignore[arg-type,union-attr]
        temperatures=temps,  # type: ignore[arg-type]
        thresholds=thresholds,
        trained={
            "data": [str(data_root)] + [str(p) for p in extra],
            "examples": len(data.train),
            **figures,
            **stage3_figures,
            "calibration_examples": len(data.calibration),
            "epochs": cfg.epochs,
            "trainable_layers": cfg.trainable_layers,
            "cv_folds": cv_folds if start_from is None else 0,
            "threads": torch.get_num_threads(),
            "device": cfg.device,
        },
    )
    artifacts.save(out, top.model, top.heads, manifest)
    weight = cv.get("shipped_blend_weight") if cv and cfg.complaint_blend else None
    complaint_weight = float(weight) if isinstance(weight, int | float) else None
    lexical_train.train(data, out, complaint_weight, lexical.HEADS if cfg.complaint_blend else ("sentiment",))
    manifest.trained["seconds"] = round(time.monotonic() - started)
    artifacts.save(out, top.model, top.heads, manifest)
    log.info("saved to %s in %ds", out, manifest.trained["seconds"])
    return manifest
