"""Text clean-up shared by training and inference."""

from nlp.text import MAX_CHARS, normalise


def test_masks_urls_and_handles() -> None:
    assert normalise("@AmazonHelp see https://t.co/abc now") == "@user see http now"


def test_spells_out_emoji_once_per_run() -> None:
    assert normalise("broken 😡😡😡") == "broken pouting face"


def test_squeezes_long_repeats_and_whitespace() -> None:
    assert normalise("  sooooooo   good \n") == "sooo good"


def test_empty_and_huge_inputs_stay_bounded() -> None:
    assert normalise("") == ""
    assert len(normalise("word " * 300_000)) <= MAX_CHARS
