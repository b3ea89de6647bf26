"""The precision quality rule in a precision report: each variant against itself in fp32, with
differences and p-values worked out by hand (exact sign-flip enumeration for a few queries)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from eval.report import markdown
from eval.runner import _precision_rule, evaluate_precisions
from eval.testset import load_testset
from eval.variants import parse_variants


def write_ranking(folder: Path) -> Path:
    """Three entries, two queries: enough for every variant to rank something."""
    folder.mkdir(parents=True)
    corpus = [("e1", "비밀번호를 바꾸고 싶어요"), ("e2", "택배가 언제 오나요"), ("e3", "환불은 며칠 걸려요")]
    queries = [("q1", "비밀번호 변경"), ("q2", "배송 조회")]
    lines = [json.dumps({"id": i, "text": t}, ensure_ascii=False) for i, t in corpus]
    (folder / "corpus.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    lines = [json.dumps({"id": i, "text": t}, ensure_ascii=False) for i, t in queries]
    (folder / "queries.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "qrels.tsv").write_text("query_id\tentry_id\tgrade\nq1\te1\t1\nq2\te2\t1\n", encoding="utf-8")
    return folder


def mrr(*values: float) -> dict[str, np.ndarray]:
    return {"mrr@10": np.array(values)}


def test_the_rule_fails_a_large_drop_and_a_small_significant_one_and_passes_a_small_noisy_one():
    ranking = {
        # 4 queries, each 0.5 worse: delta -0.5; only the 2 all-same sign flips of 16 reach |sum| 2
        "a [fp32]": mrr(1, 1, 1, 1),
        "a [int8]": mrr(0.5, 0.5, 0.5, 0.5),
        # one query 0.002 worse: delta -0.0005, every sign flip reaches it: p = 1
        "b [fp32]": mrr(1, 1, 1, 1),
        "b [int8]": mrr(0.998, 1, 1, 1),
    }
    rows = _precision_rule(ranking, {}, np.zeros(0), ["a", "b"], ["fp32", "int8"])
    assert [(r["variant"], r["precision"], r["delta"], r["p"], r["meets_rule"]) for r in rows] == [
        ("a", "int8", -0.5, 0.125, False),
        ("b", "int8", -0.0005, 1.0, True),
    ]
    # 8 queries each 0.001 worse: within 0.003, but 2 of 256 sign flips -> p = 0.0078 < 0.05
    ranking = {"c [fp32]": mrr(*[1.0] * 8), "c [bf16]": mrr(*[0.999] * 8)}
    (row,) = _precision_rule(ranking, {}, np.zeros(0), ["c"], ["fp32", "bf16"])
    assert (row["delta"], row["p"], row["meets_rule"]) == (-0.001, 0.007812, False)
    # better by any margin meets it
    ranking = {"d [fp32]": mrr(*[0.5] * 8), "d [bf16]": mrr(*[1.0] * 8)}
    (row,) = _precision_rule(ranking, {}, np.zeros(0), ["d"], ["fp32", "bf16"])
    assert (row["delta"], row["meets_rule"]) == (0.5, True)


def test_a_precision_report_carries_the_rule_table(tmp_path, tiny_encoder):
    # the same fp32 encoder under two names: every variant equals itself, delta 0, p 1
    testset = load_testset(write_ranking(tmp_path / "tiny"))
    report = evaluate_precisions(
        testset, parse_variants("mean,cls"), {"fp32": tiny_encoder, "again": tiny_encoder}, baseline="mean"
    )
    assert report.baseline == "mean [fp32]"
    assert [r.variant for r in report.results] == ["mean [fp32]", "cls [fp32]", "mean [again]", "cls [again]"]
    assert [
        (r["variant"], r["precision"], r["delta"], r["p"], r["meets_rule"]) for r in report.precision_rule
    ] == [
        ("mean", "again", 0.0, 1.0, True),
        ("cls", "again", 0.0, 1.0, True),
    ]
    text = markdown(report)
    assert "| `mean` | again | +0.0000 | 1.000 | yes |" in text
    assert report.to_json()["precision_rule"] == report.precision_rule
