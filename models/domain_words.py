"""Domain words: a Kiwi user dictionary and synonym groups, read from two optional files.

User dictionary (FAQSEARCH_USER_DICT): one word a line, `WORD<TAB>TAG[<TAB>SCORE]`, the single-
morpheme lines of Kiwi's `load_user_dictionary` format: TAG a Kiwi (Sejong) tag such as NNP, SCORE
a number (default 0; higher wins when Kiwi has several analyses). A WORD may contain spaces (a
multi-word entry, Kiwi >= 0.17), which Kiwi also finds written without them.

Synonyms (FAQSEARCH_SYNONYMS): one group a line, members separated by commas, the first member
the group's canonical word, e.g. `공인인증서, 공동인증서`.

How a synonym becomes one term: every member is added to Kiwi as a user word (NNP, score 0, unless
the user dictionary lists it: then with that tag and score), so Kiwi reads a member of several
morphemes ("공동 인증서") as one morpheme; the analyser then gives each morpheme that is a
member the term of the group's canonical word. Words compare without their spaces, so
"공동 인증서" and "공동인증서" are the same member (list one; the spaced one also matches text
written without the space).

In both files `#` starts a comment line and blank lines are skipped; words are normalised (NFC,
whitespace collapsed) like every other text. Parsing needs no Kiwi: a file is checked in full at
startup, and a bad line is a DomainWordsError naming the file and line.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from models.errors import FaqsearchError
from models.text import normalize_text

# Kiwi's tag set, as its add_user_word accepts it (tests/models/test_domain_words.py checks each).
_TAGS = """
    NNG NNP NNB NR NP VV VA VX VCP VCN MM MAG MAJ IC
    JKS JKC JKG JKO JKB JKV JKQ JX JC EP EF EC ETN ETM XPN XSN XSV XSA XSM XR
    SF SP SS SSO SSC SE SO SW SB SL SH SN UN
    W_URL W_EMAIL W_HASHTAG W_MENTION W_SERIAL W_EMOJI Z_CODA Z_SIOT USER0 USER1 USER2 USER3 USER4
"""
USER_DICT_TAGS = frozenset(_TAGS.split())
SYNONYM_TAG = "NNP"  # the tag of a synonym member the user dictionary does not list
USER_DICT_FORMAT = "WORD<TAB>TAG[<TAB>SCORE], e.g. 청년도약계좌<TAB>NNP<TAB>0"
SYNONYMS_FORMAT = "comma-separated words, canonical first, e.g. 공인인증서, 공동인증서"


class DomainWordsError(FaqsearchError, ValueError):
    """A user dictionary or synonym file that cannot be used; the message names file, line and fix."""


def word_key(word: str) -> str:
    """What two words are compared by: the word without its spaces (Korean spacing varies)."""
    return "".join(word.split())


@dataclass(frozen=True)
class WordFile:
    """One file's bytes exactly as read: the same bytes are parsed, hashed and copied into a
    snapshot, so a snapshot and the dictionary it was analysed with cannot differ."""

    path: str
    data: bytes

    @classmethod
    def read(cls, path: str | Path) -> WordFile:
        try:
            return cls(str(path), Path(path).read_bytes())
        except OSError as exc:
            raise DomainWordsError(f"cannot read {path}: {exc.strerror or exc}; check the path") from exc

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    def error(self, line: int, message: str) -> DomainWordsError:
        return DomainWordsError(f"{self.path}:{line}: {message}")

    def lines(self) -> Iterator[tuple[int, str]]:
        """(line number, line) of every line that is not blank or a comment."""
        try:
            text = self.data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            bad_line = self.data[: exc.start].count(b"\n") + 1
            raise self.error(bad_line, "not UTF-8 text; save the file as UTF-8") from None
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip() and not line.lstrip().startswith("#"):
                yield number, line


@dataclass(frozen=True)
class UserWord:
    """A word to add to Kiwi; `origin` is `file:line`, for errors."""

    word: str
    tag: str
    score: float
    origin: str


def parse_user_dict(file: WordFile) -> tuple[UserWord, ...]:
    words: list[UserWord] = []
    seen: dict[tuple[str, str], int] = {}
    for number, line in file.lines():
        fields = line.rstrip("\r\n").split("\t")
        if not 2 <= len(fields) <= 3:
            raise file.error(
                number, f"{len(fields)} tab-separated field(s), expected 2 or 3: {USER_DICT_FORMAT}"
            )
        word = normalize_text(fields[0])
        tag = fields[1].strip().upper()
        if not word:
            raise file.error(number, f"the word is empty; expected {USER_DICT_FORMAT}")
        if tag not in USER_DICT_TAGS:
            raise file.error(
                number,
                f"unknown tag {fields[1].strip()!r}; use a Kiwi tag such as NNP (proper noun), NNG (noun), "
                "VV (verb), VA (adjective), MAG (adverb) or SL (foreign word)",
            )
        score = 0.0
        if len(fields) == 3:
            try:
                score = float(fields[2])
            except ValueError:
                score = math.nan
            if not math.isfinite(score):
                raise file.error(
                    number, f"the score {fields[2].strip()!r} is not a finite number, e.g. 0 or -3.5"
                )
        key = (word_key(word), tag)
        if key in seen:
            raise file.error(number, f"{word!r}/{tag} is already on line {seen[key]}; keep one of the two")
        seen[key] = number
        words.append(UserWord(word, tag, score, f"{file.path}:{number}"))
    return tuple(words)


@dataclass(frozen=True)
class SynonymGroup:
    members: tuple[str, ...]  # normalised; the first is canonical
    line: int


def parse_synonyms(file: WordFile) -> tuple[SynonymGroup, ...]:
    groups: list[SynonymGroup] = []
    line_of: dict[str, int] = {}  # word key -> the line of its group
    for number, line in file.lines():
        members = [normalize_text(member) for member in line.split(",")]
        if any(not member for member in members):
            raise file.error(
                number, f"an empty member (two commas in a row, or one at an end); {SYNONYMS_FORMAT}"
            )
        if len(members) < 2:
            raise file.error(number, f"a group needs at least 2 words, this one has 1; {SYNONYMS_FORMAT}")
        for member in members:
            key = word_key(member)
            if key in line_of:
                where = (
                    "earlier on this line"
                    if line_of[key] == number
                    else f"in the group on line {line_of[key]}"
                )
                raise file.error(
                    number,
                    f"{member!r} is already {where} (words compare without spaces); a word belongs to one "
                    "group: merge the groups or drop it from one",
                )
            line_of[key] = number
        groups.append(SynonymGroup(tuple(members), number))
    return tuple(groups)


@dataclass(frozen=True)
class DomainWords:
    """Both files, parsed (raises DomainWordsError on a bad line). Empty: Kiwi as it comes."""

    user_dict: WordFile | None = None
    synonyms: WordFile | None = None
    user_words: tuple[UserWord, ...] = field(init=False, compare=False, repr=False)
    groups: tuple[SynonymGroup, ...] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "user_words", parse_user_dict(self.user_dict) if self.user_dict else ())
        object.__setattr__(self, "groups", parse_synonyms(self.synonyms) if self.synonyms else ())

    @classmethod
    def read(cls, user_dict: str | Path | None = None, synonyms: str | Path | None = None) -> DomainWords:
        return cls(
            WordFile.read(user_dict) if user_dict is not None else None,
            WordFile.read(synonyms) if synonyms is not None else None,
        )

    @property
    def empty(self) -> bool:
        return self.user_dict is None and self.synonyms is None

    def kiwi_words(self) -> list[UserWord]:
        """The user words to add to Kiwi: the dictionary's, then every synonym member it lacks."""
        listed = {word_key(w.word) for w in self.user_words}
        extra = [
            UserWord(member, SYNONYM_TAG, 0.0, f"{self.synonyms.path if self.synonyms else ''}:{group.line}")
            for group in self.groups
            for member in group.members
            if word_key(member) not in listed
        ]
        return [*self.user_words, *extra]

    def canonical_terms(self) -> dict[tuple[str, str], str]:
        """(word key, tag class) of each synonym member -> its group's canonical term, `key/T` like
        every term (see `models.morphemes.term_tag`)."""
        from models.morphemes import term_tag  # here: models.morphemes imports this module

        tag_of = {word_key(w.word): w.tag for w in self.user_words}  # a listed member keeps its tag
        mapping = {}
        for group in self.groups:
            keys = [word_key(member) for member in group.members]
            letters = [term_tag(tag_of.get(key, SYNONYM_TAG)) for key in keys]
            canonical = f"{keys[0]}/{letters[0]}"
            for key, letter in zip(keys, letters, strict=True):
                mapping[(key, letter)] = canonical
        return mapping
