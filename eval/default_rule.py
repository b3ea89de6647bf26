"""The default-configuration rule: the candidate whose worst shortfall from the best is smallest.

A candidate is one way the service could rank: a search variant (`eval/variants.py`) under one
configuration (entry prefix, function-word weight: a report folder) and one entry view (question
texts alone, or with answers). For every bundled ranking set, each candidate's shortfall is the
best candidate's MRR@10 on that set minus its own; the default is the candidate whose largest
shortfall over all sets is smallest. Candidates within `TIE` of the best worst-shortfall are tied,
and a tie goes to the simpler one (`complexity`). The rule reads committed reports only, so the
table in eval/README.md can be regenerated from them:

    python -m eval.default_rule eval/reports/default_rule

Layout: `ROOT/<set>/<config>/report.json`, with `<config>` naming the settings the report was run
under (e.g. `passage_fw0`: entry prefix `passage: `, function-word weight 0). Variant names carry
their entry view in brackets (`bm25 [answers]`, from `faqsearch eval --entries`); on a set whose
entries have no answers, the `answers` view equals the `alternates` one and is read as such.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from models.errors import InvalidValueError

METRIC = "mrr@10"
TIE = 0.001  # worst shortfalls this close are a tie: smaller than any difference the sets resolve
VIEWS = ("alternates", "answers")
_VIEW_RE = re.compile(r"^(?P<variant>.+?) \[(?P<view>[a-z0-9@.]+)\]$")


@dataclass(frozen=True)
class Candidate:
    config: str
    view: str
    variant: str

    @property
    def name(self) -> str:
        return f"{self.variant} | {self.config} | {self.view}"

    def complexity(self) -> tuple[int, ...]:
        """Simpler first: dense before hybrid, mean before bm25 pooling, default settings first."""
        hybrid = int(":" in self.variant or self.variant == "bm25_lexical")
        pooling = int("bm25" in self.variant)
        non_default = int(not self.config.startswith("query")) + int(not self.config.endswith("fw1"))
        return (hybrid, int(self.view != "alternates"), non_default, pooling)


@dataclass
class RuleTable:
    sets: list[str]
    scores: dict[Candidate, dict[str, float]]  # candidate -> set -> MRR@10
    best: dict[str, float]
    worst: dict[Candidate, tuple[float, str]]  # candidate -> (worst shortfall, on which set)
    chosen: Candidate


def read_scores(root: Path) -> tuple[list[str], dict[Candidate, dict[str, float]]]:
    """Every candidate's MRR@10 on every set under `root`; only candidates measured on all sets."""
    scores: dict[Candidate, dict[str, float]] = {}
    sets = sorted(p.name for p in root.iterdir() if p.is_dir())
    if not sets:
        raise InvalidValueError(f"{root}: no test set folders (expected ROOT/<set>/<config>/report.json)")
    for name in sets:
        for report_file in sorted((root / name).glob("*/report.json")):
            config = report_file.parent.name
            report = json.loads(report_file.read_text(encoding="utf-8"))
            found: dict[tuple[str, str], float] = {}
            for result in report["results"]:
                match = _VIEW_RE.match(result["variant"])
                variant, view = (
                    (match["variant"], match["view"]) if match else (result["variant"], "alternates")
                )
                found[(variant, view)] = float(result["metrics"][METRIC])
            for (variant, view), value in found.items():
                scores.setdefault(Candidate(config, view, variant), {})[name] = value
            for (variant, view), value in list(found.items()):
                if view == "alternates" and (variant, "answers") not in found:  # no answers to index
                    scores.setdefault(Candidate(config, "answers", variant), {})[name] = value
    complete = {c: s for c, s in scores.items() if len(s) == len(sets) and c.view in VIEWS}
    if not complete:
        raise InvalidValueError(f"{root}: no candidate was measured on every set ({', '.join(sets)})")
    return sets, complete


def apply_rule(sets: list[str], scores: dict[Candidate, dict[str, float]]) -> RuleTable:
    best = {s: max(per_set[s] for per_set in scores.values()) for s in sets}
    worst = {}
    for candidate, per_set in scores.items():
        shortfalls = {s: round(best[s] - per_set[s], 6) for s in sets}
        shortfall = max(shortfalls.values())
        worst[candidate] = (shortfall, next(s for s in sets if shortfalls[s] == shortfall))
    least = min(w for w, _ in worst.values())
    tied = [c for c, (w, _) in worst.items() if w <= least + TIE]
    chosen = min(tied, key=lambda c: (c.complexity(), worst[c][0], c.name))
    return RuleTable(sets, scores, best, worst, chosen)


def markdown(table: RuleTable, rows: int = 12, also: tuple[str, ...] = ()) -> str:
    """The `rows` candidates of smallest worst shortfall, plus any named in `also` (by `name`)."""
    ranked = sorted(table.scores, key=lambda c: (table.worst[c][0], c.complexity(), c.name))
    shown = ranked[:rows] + [c for c in ranked[rows:] if c.name in also]
    lines = [
        "| candidate (variant \\| config \\| view) | " + " | ".join(table.sets) + " | worst shortfall |",
        "|---" * (len(table.sets) + 2) + "|",
        "| best on the set | " + " | ".join(f"{table.best[s]:.3f}" for s in table.sets) + " | |",
    ]
    for c in shown:
        cells = [f"{table.scores[c][s]:.3f}" for s in table.sets]
        shortfall, where = table.worst[c]
        mark = "**" if c == table.chosen else ""
        lines.append(f"| {mark}`{c.name}`{mark} | " + " | ".join(cells) + f" | {shortfall:.3f} ({where}) |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        sys.stderr.write("usage: python -m eval.default_rule ROOT (ROOT/<set>/<config>/report.json)\n")
        return 2
    root = Path(args[0])
    table = apply_rule(*read_scores(root))
    references = ("mean | query_fw1 | alternates", "bm25 | query_fw1 | alternates")
    text = markdown(table, also=references)
    text += f"\nchosen: `{table.chosen.name}` (worst shortfall {table.worst[table.chosen][0]:.3f})\n"
    sys.stdout.write(text)
    (root / "default_rule.md").write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
