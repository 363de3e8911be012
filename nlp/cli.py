"""`rapport train` and `rapport eval`; the core adds them with `register(app)`. Also `python -m nlp.cli`."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated

import typer

DEFAULT_DATA = Path("../shared/data")
WEIGHTS = Path(__file__).parent / "weights"


def _require_data(data: Path) -> None:
    """One line, not a traceback, when the labelled data is not where the command looks."""
    if not data.is_dir():
        typer.echo(
            f"no labelled data at {data}: pass --data DIR, a folder laid out as nlp/README.md describes "
            "(sentiment/, complaints/, abuse/, intents/ from the public data sets it names)",
            err=True,
        )
        raise typer.Exit(2)


def train(
    data: Annotated[Path, typer.Option(help="The shared labelled data (see ../shared/data/README.md).")] = DEFAULT_DATA,
    out: Annotated[Path, typer.Option(help="Where to write the weights.")] = WEIGHTS,
    extra: Annotated[
        list[Path] | None, typer.Option(help="More labelled JSON lines (default: nlp/data/examples.jsonl).")
    ] = None,
    model: Annotated[
        str | None, typer.Option(help="Encoder path or hub id (default: packaged all-MiniLM-L6-v2).")
    ] = None,
    layers: Annotated[int, typer.Option(help="Top encoder blocks to fine-tune (6: all of MiniLM's).")] = 6,
    epochs: Annotated[int, typer.Option()] = 1,
    cv: Annotated[int, typer.Option(help="Folds of complaint cross-validation to run (0: none).")] = 5,
    threads: Annotated[int | None, typer.Option(help="Torch CPU threads.")] = None,
    complaint_blend: Annotated[
        bool, typer.Option(help="Blend the lexical complaint model into intent (see nlp/README.md).")
    ] = False,
    device: Annotated[str, typer.Option(help='Where to train: "cpu", or "cuda" on a machine with a GPU.')] = "cpu",
    start_from: Annotated[
        Path | None,
        typer.Option(help="Weights of an earlier run to take stages 1 and 2 from: only stage 3 and what follows run."),
    ] = None,
    tweets_epochs: Annotated[int, typer.Option(help="Epochs of stage 3 on the hand-labelled tweets (0: none).")] = 2,
    tweets_layers: Annotated[int, typer.Option(help="Top encoder blocks stage 3 fine-tunes.")] = 2,
) -> None:
    """Fine-tune the classifier on labelled JSON lines and write the weights."""
    import torch

    from nlp.recipe import OWN_EXAMPLES
    from nlp.recipe import train as run
    from nlp.train import TrainConfig

    if device != "cpu" and not (device.partition(":")[0] == "cuda" and torch.cuda.is_available()):
        hint = 'use "cpu", or "cuda" on a machine with a CUDA GPU'
        raise typer.BadParameter(f'"{device}": {hint}', param_hint="--device")
    _require_data(data)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if threads:
        torch.set_num_threads(threads)
    cfg = TrainConfig(
        model=model,
        trainable_layers=layers,
        epochs=epochs,
        complaint_blend=complaint_blend,
        device=device,
        tweets_epochs=tweets_epochs,
        tweets_layers=tweets_layers,
    )
    manifest = run(data, out, extra or [OWN_EXAMPLES], cfg, cv_folds=cv, start_from=start_from)
    typer.echo(f"wrote {out} ({manifest.version}) in {manifest.trained['seconds']}s")


def evaluate(
    data: Annotated[Path, typer.Option(help="The shared labelled data.")] = DEFAULT_DATA,
    weights: Annotated[Path, typer.Option(help="Weights directory to evaluate.")] = WEIGHTS,
    model: Annotated[str | None, typer.Option(help="Encoder path or hub id the weights were trained on.")] = None,
    backend: Annotated[str, typer.Option(help="auto, onnx, onnx-int8, torch or int8 (PyTorch's).")] = "auto",
    threads: Annotated[int, typer.Option(help="CPU threads, as in production.")] = 2,
    card: Annotated[bool, typer.Option(help="Write MODEL_CARD.md beside the weights.")] = True,
) -> None:
    """Print per-data-set metrics and confusion matrices on validation data; write the model card."""
    _require_data(data)
    from nlp import evaluate as ev
    from nlp.card import render
    from nlp.loader import load_transformer
    from nlp.recipe import CV_FILE

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    classifier = load_transformer(model=model, weights=str(weights), backend=backend, threads=threads)
    results = ev.evaluate(classifier, data)
    # Cross-validation retrains per fold, so `rapport train` runs it and leaves the scores here.
    results.complaint_cv = ev.load_cv(weights / CV_FILE)
    for name, r in results.reports.items():
        typer.echo(
            f"\n{name}: n={r.n} macro recall {r.macro_recall:.3f}  macro-F1 {r.macro_f1:.3f}  "
            f"accuracy {r.accuracy:.3f}  ECE {r.ece:.3f}"
        )
        typer.echo(r.table())
    for name, acc in results.set_accuracy.items():
        typer.echo(f"\n{name}: predicted intent among the mapped ones {acc:.3f}")
    if results.complaint_cv:
        c = results.complaint_cv
        typer.echo(
            f"\ncomplaint (5-fold CV, complaints/train): macro-F1 {c['macro_f1']:.3f} accuracy {c['accuracy']:.3f}"
        )
    for name, figures in results.hand_labels.items():
        typer.echo(f"\nhand-labelled TWCS tweets, test split, {name}: {figures.line()}")
    typer.echo("\nspeed: " + json.dumps({k: round(v, 1) for k, v in results.speed.items()}))
    if card:
        bench = weights / "bench.json"
        text = render(classifier, results, json.loads(bench.read_text()) if bench.exists() else {})
        (weights / "MODEL_CARD.md").write_text(text)
        typer.echo(f"wrote {weights / 'MODEL_CARD.md'}")


model_app = typer.Typer(help="The exported encoder the ONNX backends run.", no_args_is_help=True)


@model_app.command("export")
def export(
    model: Annotated[
        Path | None, typer.Option(help="A local Hugging Face encoder directory (default: the packaged MiniLM).")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Where to write it (the packaged MiniLM's: nlp/minilm).")] = None,
) -> None:
    """Write the encoder directory the ONNX backends run: tokenizer, fp16 base weights, fp32 and int8 graphs."""
    from nlp.runtime.export import export as run
    from nlp.runtime.export import packaged_source
    from nlp.runtime.files import PACKAGED_DIR

    if model is None:
        source, name = packaged_source()
        target = out or PACKAGED_DIR
    elif out is None:
        raise typer.BadParameter("give --out DIR for an encoder other than the packaged one", param_hint="--out")
    else:
        source, name, target = model, str(model), out
    for path in run(source, target, name):
        typer.echo(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")


def register(app: typer.Typer) -> None:
    """Add `train`, `eval` and `model export` to the main `rapport` app."""
    app.command("train")(train)
    app.command("eval")(evaluate)
    app.add_typer(model_app, name="model")


def main() -> None:
    app = typer.Typer(help="Train and evaluate the Rapport classifier.", no_args_is_help=True)
    register(app)
    app()


if __name__ == "__main__":
    main()
