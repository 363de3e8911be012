"""Fine-tune the encoder blocks and the heads on cached outputs of the frozen part (fast on a CPU).

What stays frozen (the token embeddings, and any blocks below `trainable_layers`) is run once and
its output cached; each epoch then only runs the trained blocks forwards and backwards.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import math
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from nlp import encoder as enc
from nlp.data import Example
from nlp.heads import Heads, fit_temperature, set_nll
from nlp.labels import HEADS, INTENTS, SENTIMENTS
from nlp.text import normalise

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TrainConfig:
    """What `rapport train` varies; the defaults produce the shipped weights."""

    model: str | None = None  # None: the packaged all-MiniLM-L6-v2
    # All six blocks: complaint macro-F1 of the heads (5-fold CV) was 0.835 with the top block,
    # 0.845 with two, 0.852 with four and 0.855-0.867 with six (nlp/README.md); the embeddings stay
    # frozen (and out of the weight files).
    trainable_layers: int = 6
    epochs: int = 1
    batch_size: int = 32
    max_length: int = 128
    lr_layers: float = 1e-4
    lr_heads: float = 2e-3
    seed: int = 0
    # Stage 1 learns everything but complaints; stage 2 adds the complaint tweets, with replay
    # of the other sources so the heads trained in stage 1 don't drift.
    stage1: tuple[tuple[str, float], ...] = (
        ("sentiment", 1.0), ("abuse", 0.5), ("bitext", 1.0), ("banking77", 0.5), ("clinc150", 0.5), ("own", 3.0),
    )  # fmt: skip
    stage2: tuple[tuple[str, float], ...] = (
        ("complaints", 4.0), ("own", 3.0), ("bitext", 0.25), ("banking77", 0.15), ("clinc150", 0.15),
        ("sentiment", 0.1), ("abuse", 0.1),
    )  # fmt: skip
    stage2_lr_scale: float = 1.0
    # Stage 2 runs this many times from the stage-1 weights, with different seeds, and ships the
    # average of their weights (a model soup). In 5-fold CV of complaints the runs of seeds 0-2
    # scored 0.859/0.861/0.856 and their soup 0.863; seeds 3-5 0.861/0.857/0.862 and soup 0.864.
    # Both soups also beat their runs' mean on our hand-labelled TWCS tweets (nlp/README.md).
    stage2_runs: int = 3
    # Blend the lexical complaint model into the intent head. Off: it adds 0.01 to complaint
    # macro-F1 in cross-validation on the complaint data set, but on our hand-labelled real
    # customer tweets (nlp/data/twcs_complaints.jsonl) it cut complaint macro-F1 from 0.80 to
    # 0.65: its n-grams fit that data set, not customers in general.
    complaint_blend: bool = False
    # Stage 3: the top `tweets_layers` blocks and the heads on our hand-labelled TWCS tweets (nlp/tweets.py),
    # with a replay of the other sources; 0 epochs skips it.
    tweets_layers: int = 2
    tweets_epochs: int = 2
    stage3: tuple[tuple[str, float], ...] = (
        ("twcs", 6.0), ("own", 1.0), ("complaints", 0.3), ("sentiment", 0.15), ("abuse", 0.2), ("bitext", 0.1),
        ("banking77", 0.05), ("clinc150", 0.05),
    )  # fmt: skip
    stage3_lr_scale: float = 1.0
    cache_dir: str = "/tmp/rapport-cache"
    # Where the trained blocks run: "cpu", or "cuda" where a GPU is at hand (the frozen part's
    # cache is always made on the CPU). Results differ from the CPU's by run-to-run noise only.
    device: str = "cpu"


@dataclass
class Labels:
    """Label tensors for a list of examples (-1 or an all-zero mask where a head is unlabelled)."""

    sentiment: torch.Tensor
    intent: torch.Tensor
    urgent: torch.Tensor
    abusive: torch.Tensor

    @classmethod
    def of(cls, examples: Sequence[Example]) -> Labels:
        intent = torch.zeros((len(examples), len(INTENTS)), dtype=torch.long)
        for row, ex in enumerate(examples):
            intent[row, list(ex.intents)] = 1
        return cls(
            sentiment=torch.tensor([-1 if e.sentiment is None else e.sentiment for e in examples]),
            intent=intent,
            urgent=torch.tensor([-1 if e.urgent is None else e.urgent for e in examples]),
            abusive=torch.tensor([-1 if e.abusive is None else e.abusive for e in examples]),
        )

    def take(self, index: list[int], device: str = "cpu") -> Labels:
        rows = [self.sentiment[index], self.intent[index], self.urgent[index], self.abusive[index]]
        return Labels(*(r.to(device) for r in rows))


def _cache_path(cfg: TrainConfig, split: int) -> Path:
    key = hashlib.sha256(json.dumps([cfg.model, split, cfg.max_length]).encode()).hexdigest()[:12]
    return Path(cfg.cache_dir) / f"lower-{key}.pt"


def cache_lower(
    texts: Sequence[str], tokenizer: object, model: nn.Module, split: int, cfg: TrainConfig
) -> list[torch.Tensor]:
    """Outputs of the frozen blocks per text (fp16, unpadded), cached on disk per distinct text.

    A cache for fewer blocks is reused by running only the blocks it lacks.
    """
    path = _cache_path(cfg, split)
    known: dict[str, torch.Tensor] = torch.load(path) if path.exists() else {}
    missing = sorted(set(texts) - known.keys())
    below = next((s for s in range(split - 1, 0, -1) if _cache_path(cfg, s).exists()), None)
    if missing and below is not None:
        log.info("extending the cache of %d blocks to %d", below, split)
        lower: dict[str, torch.Tensor] = torch.load(_cache_path(cfg, below))
        ready = [t for t in missing if t in lower]
        for t, state in zip(ready, _run_blocks(model, [lower[t] for t in ready], below, split), strict=True):
            known[t] = state
        del lower
        missing = sorted(set(texts) - known.keys())
    started = time.monotonic()
    with torch.inference_mode():
        for n, batch in enumerate(enc.batches(tokenizer, missing, cfg.max_length, 64)):
            hidden = enc.run_lower(model, batch.input_ids, batch.attention_mask, split)
            lengths = batch.attention_mask.sum(1).tolist()
            for row, i in enumerate(batch.index):
                known[missing[i]] = hidden[row, : lengths[row]].to(torch.float16).clone()
            if n % 100 == 0:
                log.info("cached %d/%d texts (%.0fs)", n * 64, len(missing), time.monotonic() - started)
    if missing or below is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(known, path)
    return [known[t] for t in texts]


def _run_blocks(model: nn.Module, states: list[torch.Tensor], start: int, stop: int) -> list[torch.Tensor]:
    """Run blocks [start, stop) over cached states, in length-sorted batches."""
    out: list[torch.Tensor] = [torch.empty(0)] * len(states)
    order = sorted(range(len(states)), key=lambda i: states[i].shape[0])
    started = time.monotonic()
    with torch.inference_mode():
        for s in range(0, len(order), 64):
            chunk = order[s : s + 64]
            hidden, mask = _pad([states[i] for i in chunk])
            attn = enc.layer_mask(model, mask, hidden)
            for block in enc.layers(model)[start:stop]:
                hidden = enc.run_block(block, hidden, attn)
            for row, i in enumerate(chunk):
                out[i] = hidden[row, : states[i].shape[0]].to(torch.float16).clone()
            if s % 6400 == 0:
                log.info("blocks %d-%d: %d/%d texts (%.0fs)", start, stop, s, len(states), time.monotonic() - started)
    return out


def _pad(states: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(s.shape[0] for s in states)
    hidden = torch.zeros((len(states), width, states[0].shape[1]))
    mask = torch.zeros((len(states), width), dtype=torch.long)
    for row, s in enumerate(states):
        hidden[row, : s.shape[0]] = s.float()
        mask[row, : s.shape[0]] = 1
    return hidden, mask


def _length_batches(states: list[torch.Tensor], index: list[int], size: int, rng: random.Random) -> list[list[int]]:
    # Sort by length with a little noise so batches differ between epochs but padding stays small.
    order = sorted(index, key=lambda i: states[i].shape[0] + rng.random() * 4)
    chunks = [order[s : s + size] for s in range(0, len(order), size)]
    rng.shuffle(chunks)
    return chunks


class Top(nn.Module):
    """The trainable part: the top encoder blocks, mean pooling and the heads."""

    def __init__(self, model: nn.Module, split: int, heads: Heads | None = None) -> None:
        super().__init__()
        self.model = model  # shared; only the blocks from `split` on are trained
        self.split = split
        self.heads = heads if heads is not None else Heads(model.config.hidden_size)  # type: ignore[union-attr,arg-type]

    def forward(self, hidden: torch.Tensor, mask: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.heads(enc.run_upper(self.model, hidden, mask, self.split))


def _loss(logits: dict[str, torch.Tensor], y: Labels, sentiment_weight: torch.Tensor) -> torch.Tensor:
    # Each head averages over the rows that label it, so a small source still moves its head.
    total = torch.zeros((), device=y.sentiment.device)
    known = y.sentiment >= 0
    if known.any():
        total = total + F.cross_entropy(logits["sentiment"][known], y.sentiment[known], weight=sentiment_weight)
    known = y.intent.sum(1) > 0
    if known.any():
        total = total + set_nll(logits["intent"][known], y.intent[known]).mean()
    for head in ("urgent", "abusive"):
        target = getattr(y, head)
        known = target >= 0
        if known.any():
            total = total + 0.5 * F.cross_entropy(logits[head][known], target[known])
    return total


def fit(
    top: Top, states: list[torch.Tensor], labels: Labels, index: list[int], cfg: TrainConfig, lr_scale: float = 1.0
) -> None:
    """Train the top blocks and heads with AdamW, warm-up then linear decay."""
    rng = random.Random(cfg.seed)
    torch.manual_seed(cfg.seed)
    blocks = enc.layers(top.model)[top.split :]
    for p in top.model.parameters():
        p.requires_grad_(False)
    for p in blocks.parameters():
        p.requires_grad_(True)
    opt = torch.optim.AdamW(
        [
            {"params": blocks.parameters(), "lr": cfg.lr_layers * lr_scale},
            {"params": top.heads.parameters(), "lr": cfg.lr_heads * lr_scale},
        ],
        weight_decay=0.01,
    )
    counts = torch.bincount(labels.sentiment[labels.sentiment >= 0], minlength=len(SENTIMENTS)).float()
    # Balanced class weights: the target is macro recall, and negative tweets are the rarest.
    sentiment_weight = (counts.sum() / (len(SENTIMENTS) * counts.clamp(min=1))).to(cfg.device)
    steps = cfg.epochs * math.ceil(len(index) / cfg.batch_size)
    warmup = max(1, steps // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warmup, max(0.0, (steps - s) / max(1, steps - warmup)))
    )
    top.train()
    step, started = 0, time.monotonic()
    for epoch in range(cfg.epochs):
        running = 0.0
        for chunk in _length_batches(states, index, cfg.batch_size, rng):
            hidden, mask = _pad([states[i] for i in chunk])
            logits = top(hidden.to(cfg.device), mask.to(cfg.device))
            loss = _loss(logits, labels.take(chunk, cfg.device), sentiment_weight)
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(top.parameters(), 1.0)
            opt.step()
            sched.step()
            step += 1
            value = loss.item()
            running = 0.98 * running + 0.02 * value if running else value
            if step % 200 == 0:
                log.info(
                    "epoch %d step %d/%d loss %.3f (%.0fs)", epoch, step, steps, running, time.monotonic() - started
                )
    top.eval()


def stage2(
    top: Top,
    states: list[torch.Tensor],
    labels: Labels,
    examples: Sequence[Example],
    cfg: TrainConfig,
    skip: set[int] | None = None,
) -> int:
    """Stage 2 from the weights in `top`: `cfg.stage2_runs` seeds, their weights averaged (a model soup).

    Runs fine-tuned from the same weights with a small learning rate stay in one basin, so their
    average predicts about as well as an ensemble of them (Wortsman et al., 2022) at one model's
    cost. Returns how many examples one run trains on.
    """
    start = copy.deepcopy(top.state_dict())
    total: dict[str, torch.Tensor] = {}
    index: list[int] = []
    for run in range(cfg.stage2_runs):
        top.load_state_dict(start)
        seeded = replace(cfg, seed=cfg.seed + run)
        index = training_index(examples, cfg.stage2, seeded.seed + 1, skip=skip)
        log.info("stage 2, run %d of %d, on %d examples", run + 1, cfg.stage2_runs, len(index))
        fit(top, states, labels, index, seeded, lr_scale=cfg.stage2_lr_scale)
        # Only what fit() trains differs between runs; the frozen embeddings need no averaging.
        for k, v in top.named_parameters():
            if v.requires_grad:
                total[k] = total[k] + v.detach() if k in total else v.detach().clone()
    top.load_state_dict({k: v / cfg.stage2_runs for k, v in total.items()}, strict=False)
    return len(index)


def predict_logits(top: Top, states: list[torch.Tensor], batch_size: int = 64) -> dict[str, torch.Tensor]:
    """Raw logits for every cached text, in order (on the CPU, wherever `top` runs)."""
    out: dict[str, list[torch.Tensor]] = {h: [] for h in HEADS}
    order = sorted(range(len(states)), key=lambda i: states[i].shape[0])
    device = top.heads.temperature.device
    with torch.inference_mode():
        for s in range(0, len(order), batch_size):
            chunk = order[s : s + batch_size]
            hidden, mask = _pad([states[i] for i in chunk])
            logits = top(hidden.to(device), mask.to(device))
            for h in HEADS:
                out[h].append(logits[h].cpu())
    inverse = torch.argsort(torch.tensor(order))
    return {h: torch.cat(v)[inverse] for h, v in out.items()}


def calibrate(top: Top, states: list[torch.Tensor], labels: Labels) -> dict[str, float]:
    """Fit one temperature per head on held-out examples and store it in the heads."""
    logits = predict_logits(top, states)
    temps = {}
    for h in HEADS:
        if h == "intent":
            allowed = labels.intent
        else:
            target = getattr(labels, h)
            allowed = F.one_hot(target.clamp(min=0), len(HEADS[h])) * (target >= 0).unsqueeze(1)
        known = allowed.sum(1) > 0
        temps[h] = fit_temperature(logits[h][known], allowed[known]) if known.sum() > 20 else 1.0
    top.heads.temperature.copy_(torch.tensor([temps[h] for h in HEADS]))
    return temps


def prepare(examples: Sequence[Example], cfg: TrainConfig) -> tuple[Top, list[torch.Tensor]]:
    """Load the encoder and the cached lower-block outputs of these examples."""
    torch.manual_seed(cfg.seed)
    tokenizer, model = enc.load_backbone(cfg.model)
    split = max(0, len(enc.layers(model)) - cfg.trainable_layers)  # more than the model has: all of them
    states = cache_lower([normalise(e.text) for e in examples], tokenizer, model, split, cfg)
    return Top(model, split), states


def training_index(
    examples: Sequence[Example], shares: tuple[tuple[str, float], ...], seed: int, skip: set[int] | None = None
) -> list[int]:
    """Example positions for one epoch: each source repeated (share > 1) or sampled (share < 1)."""
    rng = random.Random(seed)
    by_source: dict[str, list[int]] = {}
    for i, e in enumerate(examples):
        if not skip or i not in skip:
            by_source.setdefault(e.source, []).append(i)
    index: list[int] = []
    for source, share in shares:
        rows = by_source.get(source, [])
        whole, part = int(share), share - int(share)
        index += rows * whole + rng.sample(rows, round(len(rows) * part))
    return index
