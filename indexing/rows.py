"""What of an FAQ entry is indexed: its rows (one vector each) and its lexical document.

An entry is its question, its alternate phrasings and its answer. Every question text (the
question, then each alternate) is a row of its own; with `RowPolicy.answers` the answer is cut at
Kiwi's sentence boundaries into chunks that fit the model's token limit, one row each. An entry's
dense score is the best of its rows (answer rows times `answer_weight`); lexical BM25 sees one
document per entry: its question texts (and its answer, when indexed), so term statistics count
entries, not rows. The policy is recorded in the manifest: an index built with another is refused.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from indexing.store import FaqEntry

QUESTION, ALTERNATE, ANSWER = "question", "alternate", "answer"


@dataclass(frozen=True)
class RowPolicy:
    answers: bool = False  # index the answer too (FAQSEARCH_INDEX_ANSWERS)
    answer_weight: float = 1.0  # answer rows' dense scores are multiplied by this

    def to_manifest(self) -> dict[str, Any]:
        return {"alternates": True, "answers": self.answers, "answer_weight": self.answer_weight}

    @classmethod
    def from_manifest(cls, manifest: dict[str, Any]) -> RowPolicy:
        """The policy an index was built with; an index from before rows had one: question only."""
        rows = manifest.get("rows") or {}
        return cls(
            answers=bool(rows.get("answers", False)), answer_weight=float(rows.get("answer_weight", 1.0))
        )

    def describe(self) -> str:
        return f"answers indexed (weight {self.answer_weight})" if self.answers else "answers not indexed"


@dataclass(frozen=True)
class Row:
    """One indexed text of an entry. For answer chunks, [start, end) is the span in the answer."""

    entry_id: str
    kind: str  # QUESTION | ALTERNATE | ANSWER
    index: int  # the alternate's or the chunk's position; 0 for the question
    text: str
    start: int = 0
    end: int = 0

    def source(self) -> list[Any]:
        """How labels.json records the row: [kind, index, start, end]."""
        return [self.kind, self.index, self.start, self.end]


def answer_chunks(
    answer: str, max_tokens: int, count_tokens: Callable[[Sequence[str]], list[int]]
) -> list[tuple[int, int]]:
    """Spans of `answer` made of whole sentences, each chunk at most `max_tokens` tokens (a single
    longer sentence is a chunk of its own: the encoder truncates it)."""
    from models.morphemes import sentence_spans

    spans = sentence_spans(answer)
    if not spans:
        return []
    tokens = count_tokens([answer[a:b] for a, b in spans])
    chunks: list[tuple[int, int]] = []
    start, end, used = spans[0][0], spans[0][1], tokens[0]
    for (a, b), n in zip(spans[1:], tokens[1:], strict=True):
        if used + n <= max_tokens:
            end, used = b, used + n
        else:
            chunks.append((start, end))
            start, end, used = a, b, n
    chunks.append((start, end))
    return chunks


def answer_chunker_of(encoder: Any) -> Callable[[str], list[tuple[int, int]]]:
    """`answer_chunks` with the encoder's tokenizer and token limit (room kept for the entry prefix
    and the special tokens)."""
    tokenizer = encoder.tokenizer
    prefix = getattr(encoder, "entry_prefix", encoder.prefix)
    reserve = len(tokenizer(prefix, add_special_tokens=True)["input_ids"]) + 2

    def count(texts: Sequence[str]) -> list[int]:
        return [len(ids) for ids in tokenizer(list(texts), add_special_tokens=False)["input_ids"]]

    limit = max(16, int(encoder.max_length) - reserve)
    return lambda answer: answer_chunks(answer, limit, count)


def entry_rows(
    entry: FaqEntry,
    policy: RowPolicy,
    chunker: Callable[[str], list[tuple[int, int]]] | None = None,
) -> list[Row]:
    """The rows of `entry` in order: question, alternates, then answer chunks (policy.answers)."""
    rows = [Row(entry.id, QUESTION, 0, entry.question)]
    rows += [Row(entry.id, ALTERNATE, i, text) for i, text in enumerate(entry.alternates)]
    if policy.answers and entry.answer:
        if chunker is None:
            raise ValueError("indexing answers needs a chunker (the encoder's token limit)")
        for i, (start, end) in enumerate(chunker(entry.answer)):
            rows.append(Row(entry.id, ANSWER, i, entry.answer[start:end], start, end))
    return rows


def matched_text(entry: FaqEntry, source: tuple[str, int, int, int] | None) -> tuple[str, int, str]:
    """(kind, index, text) of the row `source` names in `entry` (None: the question). A source the
    entry no longer has (it was edited between the search and this read) falls back to the question."""
    if source is not None:
        kind, index, start, end = source
        if kind == ALTERNATE and 0 <= index < len(entry.alternates):
            return kind, index, entry.alternates[index]
        if kind == ANSWER and entry.answer and 0 <= start < end <= len(entry.answer):
            return kind, index, entry.answer[start:end]
    return QUESTION, 0, entry.question


def lexical_text(entry: FaqEntry, policy: RowPolicy) -> str:
    """The entry's one lexical document."""
    parts = list(entry.questions)
    if policy.answers and entry.answer:
        parts.append(entry.answer)
    return "\n".join(parts)


def entry_digest(entry: FaqEntry, policy: RowPolicy) -> str:
    """Short digest of what the index holds of `entry`: tells whether it changed since."""
    texts = [*entry.questions, entry.answer if policy.answers else None]
    if len(texts) == 2 and texts[1] is None:  # question only: the digest of before alternates
        payload = entry.question
    else:
        payload = json.dumps(texts, ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]
