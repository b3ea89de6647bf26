#!/usr/bin/env python3
"""Check the hand-written `testsets/cs_faq` set and measure how many queries share no content word.

    python testsets/cs_faq_check.py [--set testsets/cs_faq] [--list]

Run from the repository root (it imports `models.text` and `models.morphemes`, i.e. Kiwi). Prints one
JSON object on stdout: counts, validation problems (exit status 1 if there are any) and the
no-shared-word figures quoted in `testsets/cs_faq/README.md`.

No shared content word: a query counts when none of its content morphemes occurs among the content
morphemes of the question or any alternate of any of its relevant entries (answers are not looked at).
A morpheme is its surface form plus its tag class, so 하/VV never matches the suffix 하/XSV. Two rules:

- `tag_rule`: content = Kiwi tags N* (nouns, incl. dependent nouns and pronouns), V* (verbs,
  adjectives, auxiliaries, copula), XR (roots), SL (Latin letters), SN (numbers); particles J*,
  endings E*, suffixes XS*, symbols and everything else are ignored.
- `tag_rule_minus_light_words` (the headline figure): the same, minus grammatical words that nearly
  every Korean question carries whatever it asks: auxiliaries VX (싶다, 주다 in 해 주다, ...), copula VCP/VCN,
  pronouns NP (뭐, 어디, 제, ...), the light verbs 하다/되다/있다/어떻다/어떡하다/같다/이렇다/그렇다 and the
  dependent nouns 것/거/수/데/등/중. Under `tag_rule` alone, 어떻게 (어떻/VA) or 되나요 (되/VV) in a
  query and in a question would count as a shared word.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
import unicodedata
from collections import Counter
from pathlib import Path

SCRIPT_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(SCRIPT_DIR.parent))

from models.text import normalize_text  # noqa: E402

CONTENT_PREFIXES = ("N", "V", "XR", "SL", "SN")
LIGHT_TAGS = ("VX", "VCP", "VCN", "NP")
LIGHT_VERBS = {"하", "되", "있", "어떻", "어떡하", "같", "이렇", "그렇"}
LIGHT_NOUNS = {"것", "거", "수", "데", "등", "중"}


def _tag_class(tag: str) -> str:
    """Kiwi's tag without its irregular-conjugation mark (VV-R -> VV)."""
    return tag.split("-", 1)[0]


def content_sets(texts: list[str]) -> list[tuple[set[str], set[str]]]:
    """For each text: (content morphemes by tag_rule, the same minus light words), as 'form/TAG'."""
    from kiwipiepy import Kiwi  # Kiwi itself: the full tags, which the product's terms coarsen

    tokenized = list(Kiwi().tokenize([normalize_text(t) for t in texts]))
    result = []
    for tokens in tokenized:
        strict: set[str] = set()
        content: set[str] = set()
        for token in tokens:
            tag = _tag_class(token.tag)
            if not tag.startswith(CONTENT_PREFIXES):
                continue
            # nouns match across NNG/NNP/NNB (Kiwi wavers); verbs by VV/VA/VX/VC, so 하/VV is not 하/VX
            key = f"{token.form}/{'N' if tag[0] == 'N' else tag[:2]}"
            strict.add(key)
            light = (
                tag in LIGHT_TAGS
                or (tag[0] == "V" and token.form in LIGHT_VERBS)
                or (tag[0] == "N" and token.form in LIGHT_NOUNS)
            )
            if not light:
                content.add(key)
        result.append((strict, content))
    return result


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def check(folder: Path, list_queries: bool = False) -> tuple[dict, list[str]]:
    corpus = read_jsonl(folder / "corpus.jsonl")
    queries = read_jsonl(folder / "queries.jsonl")
    lines = (folder / "qrels.tsv").read_text(encoding="utf-8").splitlines()
    problems: list[str] = []
    if lines[0] != "query_id\tentry_id\tgrade":
        problems.append(f"qrels.tsv: bad header {lines[0]!r}")
    qrels: dict[str, list[str]] = {}
    for number, line in enumerate(lines[1:], start=2):
        query_id, entry_id, grade = line.split("\t")
        if grade != "1":
            problems.append(f"qrels.tsv line {number}: grade {grade!r} (expected 1)")
        qrels.setdefault(query_id, []).append(entry_id)

    entries = {e["id"]: e for e in corpus}
    query_ids = [q["id"] for q in queries]
    for name, ids in (("corpus", list(entries)), ("queries", query_ids)):
        if ids != sorted(ids) or len(ids) != len(set(ids)):
            problems.append(f"{name}: ids not sorted or not unique")
    for query_id, relevant in qrels.items():
        if query_id not in set(query_ids):
            problems.append(f"qrels.tsv: unknown query {query_id}")
        for entry_id in relevant:
            if entry_id not in entries:
                problems.append(f"qrels.tsv: unknown entry {entry_id} (query {query_id})")
        if len(relevant) != len(set(relevant)):
            problems.append(f"qrels.tsv: duplicate pair for {query_id}")
    for query_id in query_ids:
        if query_id not in qrels:
            problems.append(f"query {query_id} has no relevant entry")
    judged = Counter(entry_id for relevant in qrels.values() for entry_id in relevant)
    for entry_id in entries:
        if judged[entry_id] == 0:
            problems.append(f"entry {entry_id} has no query")

    # duplicate texts: questions and alternates across the corpus, queries among themselves and
    # against any question or alternate (after normalisation)
    entry_texts = Counter(normalize_text(t) for e in corpus for t in [e["text"], *e.get("alternates", [])])
    problems += [f"corpus: text {t!r} appears {n} times" for t, n in entry_texts.items() if n > 1]
    query_texts = Counter(normalize_text(q["text"]) for q in queries)
    problems += [f"queries: text {t!r} appears {n} times" for t, n in query_texts.items() if n > 1]
    problems += [f"queries: {t!r} is also a question or alternate" for t in query_texts if t in entry_texts]

    for path in folder.glob("*"):
        if path.suffix in {".jsonl", ".tsv", ".json", ".md"}:
            text = path.read_text(encoding="utf-8")
            if unicodedata.normalize("NFC", text) != text:
                problems.append(f"{path.name}: not NFC")
    faqs = folder / "faqs.csv"
    if not faqs.is_file() or faqs.read_text(encoding="utf-8") != faqs_csv(corpus):
        problems.append("faqs.csv differs from corpus.jsonl: rewrite it with --write-faqs")
    for e in corpus:
        if not 100 <= len(e["answer"]) <= 400:
            problems.append(f"{e['id']}: answer has {len(e['answer'])} characters (100-400)")
        if not 0 <= len(e.get("alternates", [])) <= 3:
            problems.append(f"{e['id']}: {len(e['alternates'])} alternates (0-3)")

    # no shared content word
    entry_ids = list(entries)
    entry_sides = [[entries[i]["text"], *entries[i].get("alternates", [])] for i in entry_ids]
    flat = [t for side in entry_sides for t in side]
    analysed = content_sets(flat + [q["text"] for q in queries])
    strict_of: dict[str, set[str]] = {}
    content_of: dict[str, set[str]] = {}
    position = 0
    for entry_id, side in zip(entry_ids, entry_sides, strict=True):
        strict_of[entry_id] = set().union(*(s for s, _ in analysed[position : position + len(side)]))
        content_of[entry_id] = set().union(*(c for _, c in analysed[position : position + len(side)]))
        position += len(side)
    no_shared = {"tag_rule": [], "tag_rule_minus_light_words": []}
    by_kind: dict[str, Counter] = {}
    listing = []
    for query, (q_strict, q_content) in zip(queries, analysed[position:], strict=True):
        relevant = qrels.get(query["id"], [])
        shared_strict = q_strict & set().union(*(strict_of[r] for r in relevant if r in strict_of))
        shared = q_content & set().union(*(content_of[r] for r in relevant if r in content_of))
        kind = query.get("kind", "-")
        counter = by_kind.setdefault(kind, Counter())
        counter["queries"] += 1
        if not shared_strict:
            no_shared["tag_rule"].append(query["id"])
        if not shared:
            no_shared["tag_rule_minus_light_words"].append(query["id"])
            counter["no_shared_word"] += 1
        listing.append({"id": query["id"], "text": query["text"], "kind": kind, "shared": sorted(shared)})

    n_queries = len(queries)
    report = {
        "set": folder.name,
        "counts": {
            "entries": len(corpus),
            "queries": n_queries,
            "qrels": sum(len(r) for r in qrels.values()),
        },
        "entries_per_category": dict(sorted(Counter(e["category"] for e in corpus).items())),
        "queries_with_2_relevant": sum(1 for r in qrels.values() if len(r) == 2),
        "queries_per_entry": {"min": min(judged.values()), "max": max(judged.values())},
        "queries_per_kind": {k: v["queries"] for k, v in sorted(by_kind.items())},
        "answer_chars": {
            "min": min(len(e["answer"]) for e in corpus),
            "max": max(len(e["answer"]) for e in corpus),
        },
        "no_shared_word": {
            rule: {"queries": len(ids), "fraction": round(len(ids) / n_queries, 4)}
            for rule, ids in no_shared.items()
        },
        "no_shared_word_by_kind": {
            k: {"queries": v["no_shared_word"], "of": v["queries"]} for k, v in sorted(by_kind.items())
        },
        "problems": problems,
    }
    if list_queries:
        report["queries_shared_words"] = listing
    return report, problems


def faqs_csv(corpus: list[dict]) -> str:
    """The entries as a FAQ file for `faqsearch index build --faqs` (the quick start's sample):
    id, question, answer, alternates (one per line of the cell, as a spreadsheet user types them),
    category."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["id", "question", "answer", "alternates", "category"])
    for e in corpus:
        writer.writerow([e["id"], e["text"], e["answer"], "\n".join(e.get("alternates", [])), e["category"]])
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", type=Path, default=SCRIPT_DIR / "cs_faq", help="the set folder")
    parser.add_argument("--list", action="store_true", help="also list each query's shared words")
    parser.add_argument(
        "--write-faqs", action="store_true", help="(re)write faqs.csv, the FAQ file made from corpus.jsonl"
    )
    args = parser.parse_args(argv)
    if args.write_faqs:
        (args.set / "faqs.csv").write_text(faqs_csv(read_jsonl(args.set / "corpus.jsonl")), encoding="utf-8")
    report, problems = check(args.set, args.list)
    print(json.dumps(report, ensure_ascii=False, indent=2))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
