"""The default rule on hand-made reports: worst shortfall from the best, ties to the simpler."""

from __future__ import annotations

import json
from pathlib import Path

from eval.default_rule import Candidate, apply_rule, read_scores


def write(root: Path, testset: str, config: str, scores: dict[str, float]) -> None:
    folder = root / testset / config
    folder.mkdir(parents=True)
    results = [{"variant": name, "metrics": {"mrr@10": value}} for name, value in scores.items()]
    (folder / "report.json").write_text(json.dumps({"results": results}), encoding="utf-8")


def test_the_candidate_with_the_smallest_worst_shortfall_wins(tmp_path):
    # set a: bm25 best (0.80); set b: hybrid best (0.90). Shortfalls by hand:
    # mean: a 0.10, b 0.10 -> 0.10; bm25: a 0, b 0.05 -> 0.05; convex: a 0.02, b 0 -> 0.02.
    write(tmp_path, "a", "query_fw1", {"mean": 0.70, "bm25": 0.80, "convex:bm25:w=0.8": 0.78})
    write(tmp_path, "b", "query_fw1", {"mean": 0.80, "bm25": 0.85, "convex:bm25:w=0.8": 0.90})
    table = apply_rule(*read_scores(tmp_path))
    assert table.best == {"a": 0.80, "b": 0.90}
    assert table.worst[Candidate("query_fw1", "alternates", "mean")] == (0.1, "a")  # first set of the largest
    assert table.worst[Candidate("query_fw1", "alternates", "bm25")] == (0.05, "b")
    assert table.chosen == Candidate("query_fw1", "alternates", "convex:bm25:w=0.8")


def test_a_tie_goes_to_the_simpler_and_answers_views_fill_sets_without_answers(tmp_path):
    # set a has answers: two views; set b has none, so its alternates numbers stand for both views.
    write(tmp_path, "a", "query_fw1", {"mean [alternates]": 0.70, "mean [answers]": 0.7005})
    write(tmp_path, "b", "query_fw1", {"mean": 0.60})
    table = apply_rule(*read_scores(tmp_path))
    answers = Candidate("query_fw1", "answers", "mean")
    alternates = Candidate("query_fw1", "alternates", "mean")
    assert table.scores[answers] == {"a": 0.7005, "b": 0.60}
    assert table.worst[alternates] == (0.0005, "a")
    assert table.chosen == alternates  # within the tie margin of 0.001, and simpler
