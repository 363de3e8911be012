"""Root-cause topics on the classifier's own encoder (the real model), at the default threshold."""

import pytest

from bot.config import RelationshipSettings
from bot.relationships.topics import group_complaints
from nlp.loader import load_classifier

COMPLAINTS = [
    "My order arrived with a cracked screen", "package arrived damaged, box crushed",
    "the item was broken when it arrived", "app crashes at checkout", "the app keeps crashing when I pay",
    "checkout page crashes every time", "charged twice for my subscription", "double charged on my card this month",
    "I was billed two times",
]  # fmt: skip


@pytest.mark.model
def test_complaints_about_the_same_problem_share_a_topic() -> None:
    classifier = load_classifier()
    threshold = RelationshipSettings().topic_min_similarity_encoder
    groups = {d.members for d in group_complaints(COMPLAINTS, threshold, classifier.embed)}  # type: ignore[attr-defined]
    assert groups == {(0, 1, 2), (3, 4, 5), (6, 7, 8)}
