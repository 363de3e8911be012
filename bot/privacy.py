"""Masking what a customer should never have pasted: card numbers, IBANs and passwords.

`mask()` runs on every customer text before staff or other systems see it (Slack, the console, the API,
webhooks, logs); the database keeps the original. Checksums decide, so an order number that happens to
have sixteen digits stays readable: a card number must pass Luhn, an IBAN its mod-97 check.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from stdnum import iban, luhn

BULLETS = "••••"
PASSWORD_MASK = "••••••••"

# A run of digits with single spaces or dashes between groups ("4111 1111-1111 1111"). Runs are split into
# groups so a card number next to another number ("order 12 4111 1111 1111 1111") is still found.
_DIGIT_RUN = re.compile(r"(?<![\w])\d+(?:[ -]\d+)*(?![\w])")
_CARD_DIGITS = range(13, 20)

# Two letters, two check digits, then letters and digits in groups of up to four; a candidate is cut back
# at group ends until it validates (words after an IBAN are not part of it).
_IBAN_START = re.compile(r"(?<![\w])[A-Za-z]{2}\d{2}(?:[ ]?[A-Za-z0-9]){11,30}")
_IBAN_LENGTH = range(15, 35)

# How a customer introduces a password, per language we answer in (en, es, fr, de, pt).
_PASSWORD_WORDS = (
    "password",
    "passwd",
    "passcode",
    "pwd",
    "pw",
    "pass",
    "contraseña",
    "contrasena",
    "clave",
    "mot de passe",
    "mdp",
    "passwort",
    "kennwort",
    "senha",
    "palavra-passe",
)
# Connecting words that say the next token is the password ("is", "es", "est", "ist", "é", "was", ...).
_PASSWORD_VERBS = ("is", "was", "es", "era", "est", "était", "ist", "war", "é", "era", "lautet")
_PASSWORD = re.compile(
    r"(?<![\w])(?P<word>"
    + "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in sorted(_PASSWORD_WORDS, key=len, reverse=True))
    + r")(?![\w])"
    + r"(?P<gap>\s*[:=]\s*|\s+(?:"
    + "|".join(_PASSWORD_VERBS)
    + r")(?![\w])\s*:?\s*|\s+)"
    + r"(?P<secret>\"[^\"\n]{1,100}\"|'[^'\n]{1,100}'|[^\s\"']{1,100})",
    re.IGNORECASE,
)
_TRAILING = ".,;!?)"
# Words too common to take a bare token after them as a password ("pass 2 tickets"): only "pw: x" counts.
_NEEDS_SEPARATOR = frozenset({"pass", "pw", "clave"})


@dataclass(frozen=True, slots=True)
class Masked:
    """A masked text and what was found in it (kinds only: never the values)."""

    text: str
    cards: int = 0
    ibans: int = 0
    passwords: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.cards or self.ibans or self.passwords)


def mask(text: str) -> str:
    """`text` with Luhn-valid card numbers, valid IBANs and pasted passwords masked."""
    return scan(text).text


def scan(text: str) -> Masked:
    """Mask `text` and count what was masked."""
    if not text:
        return Masked(text)
    text, ibans = _mask_ibans(text)
    text, cards = _mask_cards(text)
    text, passwords = _mask_passwords(text)
    return Masked(text, cards=cards, ibans=ibans, passwords=passwords)


def card_mask(digits: str) -> str:
    """How a card number is shown: only its last four digits."""
    return f"{BULLETS} {BULLETS} {BULLETS} {digits[-4:]}"


def _is_card(digits: str) -> bool:
    return len(digits) in _CARD_DIGITS and luhn.is_valid(digits)


def _card_in(run: str) -> tuple[int, int] | None:
    """(start, end) within `run` of the longest group-aligned card number, if any (the first of the longest).

    Only windows of at most 19 digits can be a card, so each group starts a handful of them: linear in the
    run's length (a message of a thousand three-digit numbers is read once, not a billion times)."""
    groups = [(m.start(), m.end()) for m in re.finditer(r"\d+", run)]
    best: tuple[int, int, int] | None = None  # (groups in it, start, end)
    for first, (start, first_end) in enumerate(groups):
        digits = ""
        for last in range(first, len(groups)):
            s, e = groups[last]
            digits += run[s:e]
            if len(digits) > _CARD_DIGITS[-1]:
                break
            size = last - first + 1
            # Card numbers are written in groups of 3 to 6 digits or in one piece: a list of small
            # numbers ("1 2 3 ... 13") is not a card, whatever its digits add up to.
            if size > 1 and not (3 <= e - s <= 6 and 3 <= first_end - start <= 6):
                break
            if (best is None or size > best[0]) and _is_card(digits):
                best = (size, start, e)
    return None if best is None else (best[1], best[2])


def _mask_cards(text: str) -> tuple[str, int]:
    out: list[str] = []
    count = 0
    last = 0
    for m in _DIGIT_RUN.finditer(text):
        run = m.group()
        pos = 0
        while (found := _card_in(run[pos:])) is not None:
            start, end = found[0] + pos, found[1] + pos
            out.append(text[last : m.start() + start])
            out.append(card_mask(re.sub(r"\D", "", run[start:end])))
            last = m.start() + end
            count += 1
            pos = end
    out.append(text[last:])
    return "".join(out), count


def _iban_mask(compact: str) -> str:
    return f"{compact[:2]}•• {BULLETS} {BULLETS} {compact[-4:]}"


def _mask_ibans(text: str) -> tuple[str, int]:
    out: list[str] = []
    count = 0
    last = 0
    pos = 0
    while (m := _IBAN_START.search(text, pos)) is not None:
        candidate = m.group()
        # Cut back to each place a group of letters and digits ends, longest first.
        ends = [
            i + 1
            for i, ch in enumerate(candidate)
            if ch.isalnum() and (i + 1 == len(candidate) or candidate[i + 1] == " ")
        ]
        if m.end() < len(text) and text[m.end()].isalnum():
            ends = [e for e in ends if e < len(candidate)]
        hit = None
        for end in reversed(ends):
            compact = candidate[:end].replace(" ", "").upper()
            if len(compact) in _IBAN_LENGTH and iban.is_valid(compact):
                hit = end, compact
                break
        if hit is None:
            pos = m.start() + 1
            continue
        out.append(text[last : m.start()])
        out.append(_iban_mask(hit[1]))
        last = pos = m.start() + hit[0]
        count += 1
    out.append(text[last:])
    return "".join(out), count


def _looks_secret(token: str, explicit: bool) -> bool:
    """After "password:" anything is the password; after "is" or nothing, only what looks like one
    ("my password is hunter2", not "my password is wrong")."""
    if token[0] in "\"'":
        return True
    if explicit:
        return True
    return any(not ch.isalpha() for ch in token) or any(ch.isupper() for ch in token[1:])


def _mask_passwords(text: str) -> tuple[str, int]:
    count = 0

    def hide(m: re.Match[str]) -> str:
        nonlocal count
        secret = m.group("secret")
        tail = ""
        if secret[0] not in "\"'":
            stripped = secret.rstrip(_TRAILING)
            tail = secret[len(stripped) :]
            secret = stripped
        if not secret or BULLETS[0] in secret:  # nothing left, or masked already (a card after "pin:")
            return m.group()
        gap = m.group("gap")
        explicit = any(c in gap for c in ":=")
        if not explicit and (m.group("word").lower() in _NEEDS_SEPARATOR):
            return m.group()
        if not _looks_secret(secret, explicit=explicit):
            return m.group()
        count += 1
        return f"{m.group('word')}{m.group('gap')}{PASSWORD_MASK}{tail}"

    return _PASSWORD.sub(hide, text), count


_FORMATTER = logging.Formatter()


class MaskingFilter(logging.Filter):
    """Masks every log record's message on its way out (a handler filter: it sees records of every logger).

    Customer text is not logged at INFO or above in the first place; this is for what slips through
    (an exception message quoting a payload, a library's debug output).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask(message)
        if masked != message:
            record.msg, record.args = masked, None
        # A traceback repeats the exception's message (`log.exception`, `exc_info=True`): the formatter
        # would render it after this filter, so it is rendered and masked here, and used as is there.
        if record.exc_info and not record.exc_text:
            shown = _FORMATTER.formatException(record.exc_info)
            if mask(shown) != shown:
                record.exc_text = mask(shown)
        elif record.exc_text:
            record.exc_text = mask(record.exc_text)
        if record.stack_info:
            record.stack_info = mask(record.stack_info)
        return True


def mask_logs(logger: logging.Logger | None = None) -> None:
    """Put a MaskingFilter on each handler of `logger` (the root logger by default) that has none yet."""
    for handler in (logger or logging.getLogger()).handlers:
        if not any(isinstance(f, MaskingFilter) for f in handler.filters):
            handler.addFilter(MaskingFilter())


__all__ = ["Masked", "MaskingFilter", "card_mask", "mask", "mask_logs", "scan"]
