"""Stage 3 of training: the top blocks and the heads fine-tuned on our hand-labelled customer tweets.

The public sets teach the heads what a complaint, a stolen card or an angry tweet looks like, but
not how customers write to a brand: on the hand-labelled TWCS openings the stage-2 weights found
few urgent tweets and one cancellation in nine. These tweets (`nlp/data/twcs_labels.jsonl`, split
"train" only, less a validation part chosen by tweet id) are the only real customer messages with
intent and urgent labels, so stage 3 trains on them, with a replay of every other source so the
heads keep what they learnt there. The validation part chooses the urgent and abusive thresholds;
the test split is never read here.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from torch import nn

from nlp import encoder as enc
from nlp.cues import urgent_cue
from nlp.data import Example
from nlp.hand_labels import labelled
from nlp.labels import INTENTS, SENTIMENTS
from nlp.text import normalise
from nlp.train import Labels, Top, TrainConfig, fit, predict_logits, training_index

log = logging.getLogger(__name__)

SOURCE = "twcs"
# The complaint check of `rapport eval` scores these tweets; training on them would void it (LABELLING.md).
COMPLAINT_CHECK = Path(__file__).parent / "data" / "twcs_complaints.jsonl"
THRESHOLDS = (*(round(t / 100, 2) for t in range(5, 96, 5)), 0.99)
# Fewer positives than this in the validation part and a chosen threshold is noise (abusive has ~4).
MIN_POSITIVES = 10


def in_validation(tweet_id: str, parts: int = 5) -> bool:
    """One train-split tweet in `parts` is held out to choose thresholds, by a hash of its id (not the test rule's)."""
    return int(hashlib.sha256(f"validation:{tweet_id}".encode()).hexdigest(), 16) % parts == 0


def hand_labelled(data_root: Path) -> tuple[list[Example], list[Example]]:
    """(training, validation) examples from the train split of our TWCS labels; empty without the sample."""
    checked = {json.loads(line)["tweet_id"] for line in COMPLAINT_CHECK.read_text().splitlines() if line.strip()}
    train: list[Example] = []
    validation: list[Example] = []
    for text, row in labelled(data_root, "train"):
        tweet_id = str(row["tweet_id"])
        if tweet_id in checked:
            continue
        example = Example(
            text=text,
            source=SOURCE,
            sentiment=SENTIMENTS.index(str(row["sentiment"])),
            intents=(INTENTS.index(str(row["intent"])),),
            urgent=int(bool(row["urgent"])),
            abusive=int(bool(row["abusive"])),
            group=tweet_id,
        )
        (validation if in_validation(tweet_id) else train).append(example)
    return train, validation


def _blocks_key(model: nn.Module, stop: int) -> str:
    """A digest of the weights below `stop`, so cached states never outlive the blocks that made them."""
    digest = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        if name.startswith("embeddings.") or any(name.startswith(f"encoder.layer.{i}.") for i in range(stop)):
            digest.update(name.encode())
            digest.update(tensor.detach().to(torch.float16).cpu().numpy().tobytes())
    return digest.hexdigest()[:16]


def lower_states(
    tokenizer: object, model: nn.Module, texts: Sequence[str], split: int, cfg: TrainConfig
) -> list[torch.Tensor]:
    """Outputs of blocks [0, split) for each text (normalised here), cached on disk by those blocks' weights."""
    path = Path(cfg.cache_dir) / f"tweets-{_blocks_key(model, split)}-{split}-{cfg.max_length}.pt"
    known: dict[str, torch.Tensor] = torch.load(path) if path.exists() else {}
    cleaned = [normalise(t) for t in texts]
    missing = sorted(set(cleaned) - known.keys())
    device = next(model.parameters()).device
    with torch.inference_mode():
        for n, batch in enumerate(enc.batches(tokenizer, missing, cfg.max_length, 64)):
            hidden = enc.run_lower(model, batch.input_ids.to(device), batch.attention_mask.to(device), split)
            lengths = batch.attention_mask.sum(1).tolist()
            for row, i in enumerate(batch.index):
                known[missing[i]] = hidden[row, : lengths[row]].to(torch.float16).cpu().clone()
            if n % 50 == 0:
                log.info("stage 3 cache: %d/%d texts", n * 64, len(missing))
    if missing:
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(known, path)
    return [known[t] for t in cleaned]


def stage3(tokenizer: object, top: Top, pool: Sequence[Example], cfg: TrainConfig) -> tuple[Top, int]:
    """Fine-tune the top `cfg.tweets_layers` blocks and the heads on `pool` sampled by `cfg.stage3`.

    `top` holds the stage-2 weights (any split); the returned Top shares its model and heads but
    trains from its own split. Returns it and the number of examples one epoch trains on.
    """
    split = max(0, len(enc.layers(top.model)) - cfg.tweets_layers)
    index = training_index(pool, cfg.stage3, cfg.seed + 3)
    used = sorted(set(index))
    position = {i: k for k, i in enumerate(used)}
    rows = [pool[i] for i in used]
    states = lower_states(tokenizer, top.model, [e.text for e in rows], split, cfg)
    upper = Top(top.model, split, top.heads)
    log.info("stage 3 on %d examples (%d distinct), top %d blocks", len(index), len(rows), cfg.tweets_layers)
    tuned = replace(cfg, epochs=cfg.tweets_epochs, seed=cfg.seed + 3)
    fit(upper, states, Labels.of(rows), [position[i] for i in index], tuned, lr_scale=cfg.stage3_lr_scale)
    return upper, len(index)


def probabilities(top: Top, tokenizer: object, texts: Sequence[str], cfg: TrainConfig) -> dict[str, np.ndarray]:
    """Calibrated head probabilities (no lexical blend) of `texts` through the whole model."""
    states = lower_states(tokenizer, top.model, texts, top.split, cfg)
    return {h: p.numpy() for h, p in top.heads.calibrated(predict_logits(top, states)).items()}


def _f1(truth: np.ndarray, predicted: np.ndarray) -> float:
    tp = float((truth & predicted).sum())
    return 2 * tp / float(truth.sum() + predicted.sum()) if truth.sum() + predicted.sum() else 0.0


def choose_thresholds(
    texts: Sequence[str], examples: Sequence[Example], probs: dict[str, np.ndarray]
) -> dict[str, float]:
    """The urgent and abusive thresholds with the best F1 on the validation tweets (a head with fewer
    than MIN_POSITIVES positives there is left out: it stays at 0.5).

    Urgent is chosen as it ships: the model's flag or a cue of nlp/cues.py. Ties go to the threshold
    nearest 0.5, so a flat stretch does not drag it to an extreme.
    """
    chosen = {}
    for head in ("urgent", "abusive"):
        truth = np.array([getattr(e, head) == 1 for e in examples])
        if truth.sum() < MIN_POSITIVES:
            log.info("threshold %s stays 0.5: %d positive validation tweets are too few", head, truth.sum())
            continue
        cue = np.array([urgent_cue(t) for t in texts]) if head == "urgent" else np.zeros(len(texts), dtype=bool)
        scores = {t: _f1(truth, (probs[head][:, 1] >= t) | cue) for t in THRESHOLDS}
        best = max(scores, key=lambda t: (round(scores[t], 6), -abs(t - 0.5)))
        log.info("threshold %s %.2f: validation F1 %.3f (at 0.5: %.3f)", head, best, scores[best], scores[0.5])
        chosen[head] = best
    return chosen
