"""Knowledge-base articles: one Markdown file each, optional YAML front matter, the reply up front.

```markdown
---
title: Resetting your password
questions: ["how do I reset my password", "forgot my password"]
language: en            # default "en"
tags: [account]
---
You can reset your password at Settings > Account > Reset password.

[How passwords work](https://example.com/help/passwords)

Anything after the reply (and a link paragraph right after it) is for the people who edit the article.
```
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

# Front matter sits between a first line `---` and the next `---` (or YAML's `...`) line.
_FENCE = re.compile(r"\A---[ \t]*\r?\n(?P<yaml>.*?)^(?:---|\.\.\.)[ \t]*$\r?\n?", re.DOTALL | re.MULTILINE)
_PARAGRAPH = re.compile(r"\n[ \t]*\n")
_HEADING = re.compile(r"^#{1,6}[ \t]+(?P<text>.+?)[ \t#]*$")
_LINK = re.compile(r"\[(?P<text>[^\]]+)\]\((?P<url>[^)\s]+)\)")
_BARE_LINK = re.compile(r"^(?:<?https?://\S+?>?|\[[^\]]+\]\([^)\s]+\))$")
_EMPHASIS = re.compile(r"\*\*|__|`")
_LANGUAGE = re.compile(r"^[a-z]{2,3}(?:-[a-z0-9]{2,8})?$")

Level = Literal["error", "warning"]


class FrontMatter(BaseModel):
    """The keys an article's front matter may have; anything else is a typo worth reporting."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    title: str | None = None
    questions: tuple[str, ...] = ()
    language: str = "en"
    tags: tuple[str, ...] = ()

    @field_validator("questions", "tags", mode="before")
    @classmethod
    def _list(cls, value: object) -> object:
        # YAML gives lists; strict mode would refuse them for a tuple field.
        return tuple(value) if isinstance(value, list) else value

    @field_validator("questions")
    @classmethod
    def _no_blank_question(cls, questions: tuple[str, ...]) -> tuple[str, ...]:
        if any(not q.strip() for q in questions):
            raise ValueError("a question is empty")
        return tuple(q.strip() for q in questions)

    @field_validator("language")
    @classmethod
    def _language_code(cls, language: str) -> str:
        code = language.strip().lower()
        if not _LANGUAGE.match(code):
            raise ValueError(f"{language!r} is not a language code (en, es, pt-br, ...)")
        return code


@dataclass(frozen=True, slots=True)
class Article:
    """One answer the bot may give on its own, and the ways customers ask for it."""

    stem: str  # the file name without .md: the article's id
    title: str
    questions: tuple[str, ...]
    language: str
    tags: tuple[str, ...]
    reply: str
    path: Path

    @property
    def phrasings(self) -> tuple[str, ...]:
        """What a customer's question is compared with: the title and every example question."""
        seen = {_normal(self.title)}
        out = [self.title]
        for q in self.questions:
            if _normal(q) not in seen:
                seen.add(_normal(q))
                out.append(q)
        return tuple(out)


@dataclass(frozen=True, slots=True)
class Problem:
    """Something `rapport kb check` reports about a file (`error`s make it exit non-zero)."""

    path: Path
    message: str
    level: Level = "error"

    def __str__(self) -> str:
        return f"{self.path.name}: {self.level}: {self.message}"


class ArticleError(ValueError):
    """A file that cannot be an article (bad front matter, no reply); the message says why."""


def parse_article(path: Path, text: str) -> Article:
    """Build the article from a file's text; ArticleError naming the problem if it cannot be one."""
    text = text.removeprefix("\ufeff").replace("\r\n", "\n")
    meta = FrontMatter()
    body = text
    if text.startswith("---"):
        fence = _FENCE.match(text)
        if fence is None:
            raise ArticleError("front matter starts with --- but has no closing --- line")
        meta = _front_matter(fence.group("yaml"))
        body = text[fence.end() :]
    heading, reply = _reply(body)
    if not reply:
        raise ArticleError("the body is empty: its first paragraph is the reply the bot sends")
    title = (meta.title or "").strip() or heading or path.stem.replace("-", " ").replace("_", " ").capitalize()
    return Article(path.stem, title, meta.questions, meta.language, meta.tags, reply, path)


def _front_matter(source: str) -> FrontMatter:
    try:
        data = yaml.safe_load(source)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 2}" if mark is not None else ""  # +2: 0-based, after the --- line
        problem = getattr(exc, "problem", None) or "cannot be read"
        raise ArticleError(f"front matter is not valid YAML{where}: {problem}") from None
    if data is None:
        return FrontMatter()
    if not isinstance(data, dict):
        raise ArticleError("front matter must be a mapping (title: ..., questions: [...])")
    try:
        return FrontMatter.model_validate(data)
    except ValidationError as exc:
        details = []
        for err in exc.errors(include_input=False, include_url=False):
            key = ".".join(str(p) for p in err["loc"]) or "front matter"
            details.append(f"{key}: {'unknown key' if err['type'] == 'extra_forbidden' else err['msg']}")
        raise ArticleError("front matter: " + "; ".join(details)) from None


def _reply(body: str) -> tuple[str, str]:
    """(first heading, reply): the first paragraph that is not a heading, plus a link paragraph after it."""
    heading = ""
    paragraphs: list[str] = []
    for block in _PARAGRAPH.split(body.strip()):
        lines = [line.strip() for line in block.strip().splitlines() if line.strip()]
        if not paragraphs:
            while lines and (found := _HEADING.match(lines[0])):
                heading = heading or found.group("text")
                lines = lines[1:]
        if lines:
            paragraphs.append(" ".join(lines))
        if len(paragraphs) == 2:
            break
    if not paragraphs:
        return heading, ""
    reply = _plain(paragraphs[0])
    if len(paragraphs) > 1 and _BARE_LINK.match(paragraphs[1]):
        reply += "\n" + _LINK.sub(r"\g<text>: \g<url>", paragraphs[1]).strip("<>")
    return heading, reply


def _plain(markdown: str) -> str:
    # Replies go to X and Discord as well as Slack: links and emphasis become plain text everywhere.
    return _EMPHASIS.sub("", _LINK.sub(r"\g<text> (\g<url>)", markdown))


def _normal(question: str) -> str:
    """A question as duplicates are compared: case, punctuation and spacing ignored."""
    return " ".join(re.findall(r"\w+", question.lower()))


def read_folder(folder: Path) -> tuple[list[Article], list[Problem]]:
    """Every `*.md` file under `folder` (hidden ones skipped) as an article, and what kept others out."""
    articles: list[Article] = []
    problems: list[Problem] = []
    if not folder.is_dir():
        return [], [Problem(folder, "is not a folder of Markdown articles")]
    by_stem: dict[str, Path] = {}
    for path in sorted(folder.rglob("*.md")):
        if any(part.startswith(".") for part in path.relative_to(folder).parts):
            continue
        if path.stem in by_stem:
            # The stem is the article's id (in audits and `rapport kb ask`), so it must be unique.
            problems.append(Problem(path, f"has the same name as {by_stem[path.stem].relative_to(folder)}"))
            continue
        by_stem[path.stem] = path
        try:
            articles.append(parse_article(path, path.read_text(encoding="utf-8")))
        except UnicodeDecodeError:
            problems.append(Problem(path, "is not UTF-8 text"))
        except OSError as exc:
            problems.append(Problem(path, f"cannot be read ({exc.strerror})"))
        except ArticleError as exc:
            problems.append(Problem(path, str(exc)))
    return articles, problems


def lint(articles: list[Article]) -> list[Problem]:
    """What makes retrieval ambiguous or weak: questions shared by two articles, articles without questions."""
    problems: list[Problem] = []
    owner: dict[tuple[str, str], Article] = {}
    for article in articles:
        if not article.questions:
            problems.append(Problem(article.path, "has no questions: only its title is matched", "warning"))
        mine: set[str] = set()
        for question in article.questions:
            key = _normal(question)
            if key in mine:
                problems.append(Problem(article.path, f"lists {question!r} twice", "warning"))
                continue
            mine.add(key)
            first = owner.setdefault((article.language, key), article)
            if first is not article:
                problems.append(Problem(article.path, f"question {question!r} is also in {first.path.name}"))
    return problems


def check(folder: Path) -> tuple[list[Article], list[Problem]]:
    """Everything `rapport kb check` reports: unreadable articles, then duplicates and weak spots."""
    articles, problems = read_folder(folder)
    if not articles and not problems:
        problems.append(Problem(folder, "holds no articles (*.md): every question goes to a person", "warning"))
    return articles, problems + lint(articles)
