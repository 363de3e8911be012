"""Reading our labelled JSON lines and mapping public intents onto ours."""

import json
from pathlib import Path

from nlp import intent_map
from nlp.data import read_own
from nlp.labels import INTENTS, SENTIMENTS

PACKAGE = Path(__file__).resolve().parents[2] / "nlp" / "data"


def test_read_own_accepts_partial_labels(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    rows = [
        {"text": "thanks!", "intent": "praise", "sentiment": "positive"},
        {"text": "where is it", "intent": ["question", "complaint"], "urgent": False},
        {"text": "idiots", "abusive": True},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n")
    a, b, c = read_own(path)
    assert a.intents == (INTENTS.index("praise"),) and a.sentiment == SENTIMENTS.index("positive")
    assert set(b.intents) == {INTENTS.index("question"), INTENTS.index("complaint")} and b.urgent == 0
    assert c.intents == () and c.abusive == 1 and c.sentiment is None


def test_shipped_example_files_are_valid_and_disjoint() -> None:
    train = read_own(PACKAGE / "examples.jsonl")
    test = read_own(PACKAGE / "intent_test.jsonl")
    assert len(train) > 100 and len(test) > 50
    assert all(len(e.intents) == 1 for e in test)
    assert not {e.text for e in train} & {e.text for e in test}


def test_intent_maps_use_only_our_intents() -> None:
    names = set(intent_map.BITEXT) | intent_map.BANKING_PROBLEMS | intent_map.CLINC_REQUEST | {"oos", "thank_you"}
    for name in names:
        for mapper in (intent_map.bitext, intent_map.banking, intent_map.clinc):
            assert set(mapper(name)) <= set(INTENTS)
    assert intent_map.banking("terminate_account") == ("cancellation",)
    assert intent_map.clinc("thank_you") == ("praise",)
