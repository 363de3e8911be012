"""Language identification: English passes, other languages are named, short texts are unknown."""

import pytest

from nlp.language import LanguageGuesser


@pytest.fixture(scope="module")
def guesser() -> LanguageGuesser:
    return LanguageGuesser()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("how do I reset my password", "en"),
        ("my order arrived broken and nobody answers", "en"),
        ("¿Dónde está mi pedido? Llevo dos semanas esperando", "es"),
        ("Meine Bestellung ist nie angekommen", "de"),
        ("Mon colis n'est jamais arrivé, c'est inadmissible", "fr"),
        ("Minha encomenda não chegou até hoje", "pt"),
        ("lol ok", "unknown"),
        ("😀😀 https://t.co/x @brand", "unknown"),
        ("", "unknown"),
    ],
)
def test_guess(guesser: LanguageGuesser, text: str, expected: str) -> None:
    assert guesser.guess(text) == expected
