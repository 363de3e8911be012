"""Masking card numbers, IBANs and pasted passwords: what must be masked, and what must stay readable."""

from __future__ import annotations

import io
import logging

import pytest

from bot.privacy import MaskingFilter, mask, scan


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("my card is 4111 1111 1111 1111, charged twice", "my card is •••• •••• •••• 1111, charged twice"),
        ("card 5555-5555-5555-4444 declined", "card •••• •••• •••• 4444 declined"),
        ("4111111111111111", "•••• •••• •••• 1111"),
        ("amex 3782 822463 10005 please", "amex •••• •••• •••• 0005 please"),
        # A card number right after another number is still found (group by group).
        ("order 12 4111 1111 1111 1111.", "order 12 •••• •••• •••• 1111."),
        ("two: 4111111111111111 and 5555555555554444", "two: •••• •••• •••• 1111 and •••• •••• •••• 4444"),
    ],
)
def test_luhn_valid_card_numbers_are_masked_keeping_the_last_four(text: str, expected: str) -> None:
    assert mask(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "my order 1234567890123456 never arrived",  # sixteen digits failing Luhn: an order number
        "tracking 4111 1111 1111 1112",  # one digit off a card number
        "call me on +34 612 345 678",
        "items 1 2 3 4 5 6 7 8 9 10 11 12 13 14",  # small numbers whose digits happen to add up
        "invoice 41111111111111110000",  # twenty digits: longer than any card
        "the 2024-05-01 delivery",
    ],
)
def test_numbers_that_are_not_card_numbers_stay_readable(text: str) -> None:
    assert mask(text) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("refund to DE89 3704 0044 0532 0130 00 please", "refund to DE•• •••• •••• 3000 please"),
        ("GB82WEST12345698765432", "GB•• •••• •••• 5432"),
        ("iban: fr1420041010050500013m02606.", "iban: FR•• •••• •••• 2606."),
    ],
)
def test_valid_ibans_are_masked(text: str, expected: str) -> None:
    assert mask(text) == expected


@pytest.mark.parametrize(
    "text",
    ["DE89 3704 0044 0532 0130 01 is wrong by one", "code AB12 CDEF GHIJ KLMN", "ES12 is my zone"],
)
def test_strings_failing_the_iban_checksum_stay_readable(text: str) -> None:
    assert mask(text) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("my password is hunter2", "my password is ••••••••"),
        ("pw: abc", "pw: ••••••••"),
        ("PASSWORD=Secret", "PASSWORD=••••••••"),
        ('password: "correct horse battery" thanks', "password: •••••••• thanks"),
        ("the password was Tr0ub4dor&3.", "the password was ••••••••."),
        ("mi contraseña es gato123", "mi contraseña es ••••••••"),
        ("contraseña: gato", "contraseña: ••••••••"),
        ("mon mot de passe : azerty", "mon mot de passe : ••••••••"),
        ("Passwort ist Geheim99", "Passwort ist ••••••••"),
        ("passwort hunter2", "passwort ••••••••"),
        ("minha senha é abc123", "minha senha é ••••••••"),
    ],
)
def test_pasted_passwords_are_masked_in_five_languages(text: str, expected: str) -> None:
    assert mask(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "I forgot my password, can you reset it?",
        "my password is wrong",
        "my password isn't working",
        "the password reset link is broken",
        "I'll pass 2 tickets to my friend",
        "olvidé mi contraseña",
        "j'ai perdu mon mot de passe",
    ],
)
def test_talking_about_a_password_is_not_masked(text: str) -> None:
    assert mask(text) == text


def test_scan_counts_each_kind_without_keeping_values() -> None:
    found = scan("card 4111 1111 1111 1111, iban GB82WEST12345698765432, pw: hunter2")
    assert (found.cards, found.ibans, found.passwords, found.changed) == (1, 1, 1, True)
    assert "4111 1111" not in found.text and "hunter2" not in found.text
    assert not scan("nothing here").changed


def test_the_log_filter_masks_formatted_messages() -> None:
    record = logging.LogRecord("t", logging.WARNING, __file__, 1, "rejected %s: %s", ("m1", "4111111111111111"), None)
    assert MaskingFilter().filter(record)
    assert record.getMessage() == "rejected m1: •••• •••• •••• 1111"


def test_the_log_filter_masks_an_exceptions_traceback() -> None:
    """`log.exception` quoting a payload: the traceback's message line is masked as the message is."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(MaskingFilter())
    logger = logging.getLogger("tests.privacy.traceback")
    logger.addHandler(handler)
    try:
        try:
            raise ValueError("bad payload: card 4111 1111 1111 1111")
        except ValueError:
            logger.exception("could not handle a message")
    finally:
        logger.removeHandler(handler)
    written = stream.getvalue()
    assert "ValueError: bad payload: card •••• •••• •••• 1111" in written
    assert "4111 1111" not in written


def test_a_card_number_after_a_thousand_short_numbers_is_still_masked() -> None:
    """Every window of a long run of digit groups is considered (the search is linear, not cubic)."""
    text = " ".join(["123"] * 1000) + " 4111 1111 1111 1111"
    assert mask(text) == " ".join(["123"] * 1000) + " •••• •••• •••• 1111"
