"""Messages we wrote to probe what issue 16 named, and what the classifier should say about each.

`rapport eval` runs them through the shipped classifier (with its cues) and the model card shows
every answer, right or wrong, so a failure mode is shown with the words that trigger it. None of
them is in any training set; they are too few to be a measure, only examples.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from nlp.types import Analysis


@dataclass(frozen=True, slots=True)
class Probe:
    text: str
    head: str  # "sentiment", "intent" or "urgent"
    expected: str  # the label's value ("negative", "question", "true")


PROBES: tuple[Probe, ...] = (
    Probe("great, my package is lost again, thanks a lot", "sentiment", "negative"),
    Probe("😡😡😡👎", "sentiment", "negative"),
    Probe("oh wonderful, another 3 hour wait on hold. love it", "sentiment", "negative"),
    Probe("Please cancel my subscription effective immediately", "intent", "cancellation"),
    Probe("close my account, I'm moving to another bank", "intent", "cancellation"),
    Probe("How do I reset my password?", "intent", "question"),
    Probe("can I exchange it for a bigger size?", "intent", "question"),
    Probe("what time does the Leeds store open on Sunday?", "intent", "question"),
    Probe("do you do a discount if we order 40 licences for the office?", "intent", "purchase_interest"),
    Probe("my charger started smoking while it was plugged in", "urgent", "true"),
    Probe("I'm contacting my lawyer about this", "urgent", "true"),
    Probe("your website is down, nobody can check out", "urgent", "true"),
    Probe("you charged me twice, that was my rent money", "urgent", "true"),
    Probe("my flight leaves in two hours and the app won't let me check in", "urgent", "true"),
    Probe("my parcel is a day late, any news?", "urgent", "false"),
)


def answer(probe: Probe, analysis: Analysis) -> str:
    """What the analysis says for the probe's head, in the probe's terms."""
    if probe.head == "urgent":
        return "true" if analysis.urgent else "false"
    return str(getattr(analysis, probe.head).value)


def run(classifier: object, probes: Sequence[Probe] = PROBES) -> list[tuple[Probe, str]]:
    """Each probe with the classifier's answer for its head (cues applied, as the bot sees it)."""
    analyses: list[Analysis] = classifier.classify([p.text for p in probes])  # type: ignore[attr-defined]
    return [(p, answer(p, a)) for p, a in zip(probes, analyses, strict=True)]
