"""The cues that raise the heads' analysis: urgency, leaving, anger in emoji, sarcasm (nlp/cues.py)."""

from __future__ import annotations

import pytest

from nlp.cues import adjust, angry_symbols, leaving_cue, sarcastic_loss, urgent_cue
from nlp.types import Analysis, Intent, Sentiment


def calm(intent: Intent = Intent.OTHER, sentiment: Sentiment = Sentiment.NEUTRAL) -> Analysis:
    return Analysis(sentiment, intent, False, False, "en", 0.4, True)


@pytest.mark.parametrize(
    "text",
    [
        "My charger started smoking last night",
        "I'm contacting my lawyer about this",
        "your website is down again",
        "is the app down for anyone else?",
        "you charged me twice, that was my rent money",
        "I was billed 3 times for one order",
        "my account has been hacked, please help",
        "stuck at the airport for 5 hours now",
        "no internet all day, third day running",
        "I need this fixed asap",
    ],
)
def test_urgent_wording_is_heard(text: str) -> None:
    assert urgent_cue(text)


@pytest.mark.parametrize(
    "text",
    [
        "what's the down payment on the new phone?",
        "can I play music offline on the train?",
        "my parcel is a day late, any news?",
        "how do I reset my password?",
    ],
)
def test_ordinary_problems_and_questions_are_not_urgent(text: str) -> None:
    assert not urgent_cue(text)


@pytest.mark.parametrize(
    "text",
    [
        "Please cancel my subscription effective immediately",
        "I want to cancel my order",
        "never flying with you again",
        "I'm switching to @rivalnet next month",
        "seriously thinking of leaving after this",
        "please close my account",
        "that's another loyal customer lost",
        "our contract is up and we won't be renewing",
        "what do I need to do to cancel my booking?",
        "never order from them, they lose everything",
        "I'll get my pizza from @rivalpizza instead",
        "a different airline is needed now",
    ],
)
def test_a_customer_leaving_is_a_cancellation(text: str) -> None:
    assert leaving_cue(text)
    assert adjust(text, calm(Intent.REQUEST)).intent is Intent.CANCELLATION


def test_the_brand_cancelling_an_order_is_not_the_customer_leaving() -> None:
    assert not leaving_cue("they cancelled my order after an hour of waiting")


def test_angry_emoji_alone_is_a_negative_complaint() -> None:
    assert angry_symbols("😡😡😡👎") and not angry_symbols("🎉🎉") and not angry_symbols("😡 ok")
    a = adjust("😡😡😡👎", calm())
    assert (a.intent, a.sentiment, a.low_confidence) == (Intent.COMPLAINT, Sentiment.NEGATIVE, False)


def test_thanks_around_a_loss_is_sarcasm_not_praise() -> None:
    text = "great, my package is lost again, thanks a lot"
    assert sarcastic_loss(text) and not sarcastic_loss("thanks a lot, it arrived today!")
    a = adjust(text, calm(Intent.PRAISE, Sentiment.POSITIVE))
    assert (a.intent, a.sentiment) == (Intent.COMPLAINT, Sentiment.NEGATIVE)


def test_cues_only_raise_never_clear_what_the_model_found() -> None:
    found = Analysis(Sentiment.NEGATIVE, Intent.CANCELLATION, True, False, "en", 0.9, False)
    assert adjust("thanks, all good", found) is found  # no cue fires: nothing changes
    # Cues fire here (sarcasm, a service down): the model's urgent, negative cancellation stands.
    raised = adjust("great job, the app is down again, thanks a lot", found)
    assert (raised.intent, raised.sentiment, raised.urgent) == (Intent.CANCELLATION, Sentiment.NEGATIVE, True)
