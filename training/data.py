"""Training data for `faqsearch train`: every `--data` path becomes pairs or scored pairs.

A path's kind is read from its contents, never from a flag:
- a folder in the `testsets/` format: a ranking set gives (query, relevant entry) pairs from its
  *train* part, an STS set gives scored pairs; a dev or test split is refused (eval/testset.py);
- a JSON lines file whose first object has `query` and `positive`: pairs, with an optional hard
  `negative`;
- any FAQ file `faqsearch faqs import` reads (CSV, TSV, XLSX, JSONL): each entry's question and
  alternates are positives of one another (entries without alternates give nothing).

Every pair carries the group it belongs to (an entry id, a premise), so that batching never puts two
positives of one group against each other as in-batch negatives (training/batches.py).
Errors are `TrainDataError`s naming the file and, where there is one, the line.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from models.errors import FaqsearchError
from models.text import normalize_text


class TrainDataError(FaqsearchError, ValueError):
    """A `--data` path that cannot be read as training data; the message names the file and line."""


@dataclass(frozen=True)
class Pair:
    """A query and a text it should be near (and optionally one it should be far from)."""

    query: str
    positive: str
    negative: str | None
    group: str  # positives of one group are never each other's in-batch negatives


@dataclass(frozen=True)
class ScoredPair:
    a: str
    b: str
    score: float


@dataclass(frozen=True)
class Source:
    """One `--data` path as the model card records it."""

    path: str
    kind: str  # "ranking set", "sts set", "pairs", "faq"
    sha256: str
    examples: int


@dataclass
class TrainData:
    pairs: list[Pair]
    scored: list[ScoredPair]
    sources: list[Source]


def read_training_data(paths: list[Path]) -> TrainData:
    """All `paths` read and checked before anything is trained or written."""
    if not paths:
        raise TrainDataError("no training data: give --data FILE at least once")
    data = TrainData(pairs=[], scored=[], sources=[])
    for path in paths:
        kind, pairs, scored = _read_one(path)
        if not pairs and not scored:
            raise TrainDataError(f"{path}: holds no training pair ({kind}); {_HINT}")
        data.pairs += pairs
        data.scored += scored
        data.sources.append(Source(str(path), kind, _sha256(path), len(pairs) + len(scored)))
    return data


_HINT = (
    'give pairs JSONL ({"query", "positive"[, "negative"]}), an FAQ file with alternates, '
    "or a train split of a test set folder"
)


def _read_one(path: Path) -> tuple[str, list[Pair], list[ScoredPair]]:
    from eval.testset import RankingSet, TestsetError, load_testset

    if path.is_dir():
        try:
            loaded = load_testset(path, "train")
        except TestsetError as exc:
            raise TrainDataError(str(exc)) from None
        if isinstance(loaded, RankingSet):
            return "ranking set", _ranking_pairs(loaded), []
        return "sts set", [], [ScoredPair(p.a, p.b, p.score) for p in loaded.pairs]
    if not path.is_file():
        raise TrainDataError(f"{path}: no such file or folder")
    if path.suffix.lower() in (".jsonl", ".json") and _looks_like_pairs(path):
        return "pairs", _read_pairs(path), []
    return "faq", _faq_pairs(path), []


def _ranking_pairs(loaded) -> list[Pair]:
    """(query, entry text) for queries with exactly one relevant entry: with two, either entry could
    land in the other's batch as a negative."""
    text_of = {entry.id: entry.text for entry in loaded.corpus}
    pairs = []
    for query in loaded.queries:
        relevant = list(loaded.qrels[query.id])
        if len(relevant) == 1:
            pairs.append(Pair(query.text, text_of[relevant[0]], None, relevant[0]))
    return pairs


def _looks_like_pairs(path: Path) -> bool:
    try:
        first = path.read_text(encoding="utf-8-sig").split("\n", 1)[0]
        obj = json.loads(first)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return False
    return isinstance(obj, dict) and "query" in obj and "positive" in obj


def _read_pairs(path: Path) -> list[Pair]:
    pairs = []
    lines = path.read_text(encoding="utf-8-sig").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for number, line in enumerate(lines, start=1):
        where = f"{path}: line {number}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise TrainDataError(f"{where}: invalid JSON ({exc.msg} at column {exc.colno})") from None
        if not isinstance(obj, dict):
            raise TrainDataError(f"{where}: expected a JSON object with query and positive")
        texts = {}
        for field in ("query", "positive", "negative"):
            value = obj.get(field)
            if value is None and field == "negative":
                continue
            if not isinstance(value, str):
                raise TrainDataError(f"{where}: field {field!r} is missing or not a string")
            texts[field] = normalize_text(value)
            if not texts[field]:
                raise TrainDataError(f"{where}: field {field!r} is empty after normalisation")
        # one query's pairs are one group: its positives must not be each other's negatives
        pairs.append(Pair(texts["query"], texts["positive"], texts.get("negative"), f"q:{texts['query']}"))
    return pairs


def _faq_pairs(path: Path) -> list[Pair]:
    """Each ordered pair of an entry's phrasings (question and alternates)."""
    from indexing.faq_import import FaqImportError, read_faq_file

    try:
        entries = read_faq_file(path)
    except FaqImportError as exc:
        raise TrainDataError(str(exc)) from None
    pairs = []
    for entry in entries:
        phrasings = [entry.question, *entry.alternates]
        pairs += [Pair(a, b, None, f"faq:{entry.id}") for a in phrasings for b in phrasings if a != b]
    return pairs


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        digest.update(file.relative_to(path).as_posix().encode() if path.is_dir() else b"")
        digest.update(file.read_bytes())
    return digest.hexdigest()
