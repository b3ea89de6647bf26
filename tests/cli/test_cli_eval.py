"""`faqsearch eval` on folders written here: the table it prints, the files it writes, its errors."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from faqsearch.cli import cli

CORPUS = ["비밀번호 변경", "배송 조회", "환불 신청", "카드 분실 신청", "적금 이자"]
QUERIES = ["변경", "환불", "배송 신청"]
QRELS = "query_id\tentry_id\tgrade\nq1\te1\t1\nq2\te2\t1\nq3\te3\t2\nq3\te4\t1\n"


def tiny_set(folder: Path, **replace: str | None) -> Path:
    """The five-entry set of tests/eval/test_runner.py, with files replaced (None: removed)."""
    files: dict[str, str | None] = {
        "corpus.jsonl": "".join(
            json.dumps({"id": f"e{i}", "text": t}, ensure_ascii=False) + "\n" for i, t in enumerate(CORPUS, 1)
        ),
        "queries.jsonl": "".join(
            json.dumps({"id": f"q{i}", "text": t}, ensure_ascii=False) + "\n"
            for i, t in enumerate(QUERIES, 1)
        ),
        "qrels.tsv": QRELS,
    }
    files.update({name.replace("_", "."): content for name, content in replace.items()})
    folder.mkdir(parents=True)
    for name, content in files.items():
        if content is not None:
            (folder / name).write_text(content, encoding="utf-8")
    return folder


@pytest.mark.slow
def test_eval_prints_the_table_and_writes_the_report(tmp_path):
    folder = tiny_set(tmp_path / "tiny")
    args = ["--testset", str(folder), "--variants", "bm25_lexical", "--baseline", "bm25_lexical"]
    args += ["--out", str(tmp_path / "out"), "--cache", str(tmp_path / "cache")]
    result = subprocess.run(
        [sys.executable, "-m", "faqsearch.cli", "eval", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    # Hand-computed in tests/eval/test_runner.py: MRR (1 + 0 + 1/2) / 3, R@1 1/3, R@5 = R@10 2/3,
    # nDCG@10 (1 + 0 + 0.6697) / 3; three queries, so the bootstrap interval spans [0, 1].
    assert result.stdout == (
        "| variant | MRR@10 [95% CI] | R@1 | R@5 | R@10 | nDCG@10 | Δ MRR@10 vs bm25_lexical | p |\n"
        "|---|---|---|---|---|---|---|---|\n"
        "| `bm25_lexical` | 0.500 [0.000, 1.000] | 0.333 | 0.667 | 0.667 | 0.557 | (baseline) |  |\n"
    )
    report = json.loads((tmp_path / "out/report.json").read_text(encoding="utf-8"))
    assert report["testset"] == "tiny" and report["model"] is None
    assert report["results"][0]["metrics"] == {
        "mrr@10": 0.5,
        "recall@1": 0.333333,
        "recall@5": 0.666667,
        "recall@10": 0.666667,
        "ndcg@10": 0.556557,
    }
    markdown = (tmp_path / "out/report.md").read_text(encoding="utf-8")
    assert "ranking set, 3 queries; no neural model (lexical only); baseline `bm25_lexical`." in markdown
    assert result.stdout in markdown
    assert (tmp_path / "out/report.png").stat().st_size > 0


def run_in_process(args: list[str]):
    return CliRunner().invoke(cli, ["eval", *args])


@pytest.mark.parametrize(
    ("replace", "message"),
    [
        ({"qrels_tsv": None}, "qrels.tsv: missing file (a test set needs pairs.jsonl, or corpus.jsonl"),
        (
            {"qrels_tsv": QRELS + "q1\te9\t1\n"},
            "qrels.tsv: line 6: unknown entry id 'e9' (not in corpus.jsonl)",
        ),
        (
            {"qrels_tsv": QRELS + "q7\te1\t1\n"},
            "qrels.tsv: line 6: unknown query id 'q7' (not in queries.jsonl)",
        ),
        ({"queries_jsonl": ""}, "queries.jsonl: line 1: no queries (the file is empty)"),
        (
            {"queries_jsonl": '{"id": "q1", "text": "변경"}\n{"id": "q2", "text": " "}\n'},
            "queries.jsonl: line 2: empty 'text'",
        ),
    ],
)
def test_a_broken_folder_is_one_error_line_naming_file_and_line(tmp_path, replace, message):
    folder = tiny_set(tmp_path / "broken", **replace)
    result = run_in_process(
        ["--testset", str(folder), "--variants", "bm25_lexical", "--baseline", "bm25_lexical"]
    )
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {folder}{os.sep}{message}")
    assert result.stderr.count("\n") == 1 and result.stdout == ""


def test_an_unknown_variant_lists_the_valid_ones(tmp_path):
    result = run_in_process(["--testset", str(tmp_path), "--variants", "mean,median"])
    assert result.exit_code == 2
    assert result.stderr.startswith(
        "error: unknown variant 'median' (not a pooling, lexical or hybrid name); valid:"
    )
    assert "bm25_lexical" in result.stderr and result.stderr.count("\n") == 1


def test_eval_compares_prefix_pairs_in_one_report(tmp_path, tiny_model_dir, tiny_encoder):
    from eval.runner import evaluate_prefixes
    from eval.testset import load_testset
    from eval.variants import parse_variants

    folder = tiny_set(tmp_path / "tiny")
    args = ["--testset", str(folder), "--variants", "mean,bm25", "--baseline", "mean"]
    args += [
        "--model",
        str(tiny_model_dir),
        "--out",
        str(tmp_path / "out"),
        "--cache",
        str(tmp_path / "cache"),
    ]
    args += ["--query-prefix", "query: ", "--entry-prefix", "query: ", "--entry-prefix", "passage: "]
    result = run_in_process(args)
    assert result.exit_code == 0, result.stderr
    rows = [line.split(" | ")[0] for line in result.stdout.splitlines()[2:]]
    assert rows == [
        "| `mean ['query: '/'query: ']`",
        "| `bm25 ['query: '/'query: ']`",
        "| `mean ['query: '/'passage: ']`",
        "| `bm25 ['query: '/'passage: ']`",
    ]
    report = json.loads((tmp_path / "out/report.json").read_text(encoding="utf-8"))
    assert report["model"]["entry_prefix"] == ["query: ", "passage: "]
    pairs = [("query: ", "query: "), ("query: ", "passage: ")]
    expected = evaluate_prefixes(
        load_testset(folder), parse_variants("mean,bm25"), tiny_encoder, pairs, baseline="mean"
    )
    assert [r["metrics"] for r in report["results"]] == [r.metrics for r in expected.results]
    assert [r["p_vs_baseline"] for r in report["results"]] == [r.p_vs_baseline for r in expected.results]


def test_one_prefix_pair_is_a_plain_report_under_it(tmp_path, tiny_model_dir, tiny_encoder):
    from eval.runner import evaluate
    from eval.testset import load_testset
    from eval.variants import parse_variants

    folder = tiny_set(tmp_path / "tiny")
    args = [
        "--testset",
        str(folder),
        "--variants",
        "bm25",
        "--baseline",
        "bm25",
        "--model",
        str(tiny_model_dir),
    ]
    args += [
        "--out",
        str(tmp_path / "out"),
        "--cache",
        str(tmp_path / "cache"),
        "--entry-prefix",
        "passage: ",
    ]
    assert run_in_process(args).exit_code == 0
    report = json.loads((tmp_path / "out/report.json").read_text(encoding="utf-8"))
    assert (report["model"]["prefix"], report["model"]["entry_prefix"]) == (
        "",
        "passage: ",
    )  # tiny: no e5 name
    expected = evaluate(
        load_testset(folder),
        parse_variants("bm25"),
        baseline="bm25",
        encoder=tiny_encoder.with_prefixes(entry_prefix="passage: "),
    )
    assert report["results"][0]["metrics"] == expected.results[0].metrics


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            [
                "--query-prefix",
                "a",
                "--query-prefix",
                "b",
                "--query-prefix",
                "c",
                "--entry-prefix",
                "d",
                "--entry-prefix",
                "e",
            ],
            "error: 3 --query-prefix and 2 --entry-prefix values: give one of a side for every value of the other",
        ),
        (
            ["--entry-prefix", "a", "--entry-prefix", "b", "--precisions", "fp32,bf16"],
            "error: compare precisions or prefix pairs, not both at once",
        ),
        (
            ["--entry-prefix", "passage:\n"],
            "error: the prefix 'passage:\\n' holds control or invisible characters",
        ),
    ],
)
def test_prefix_options_that_do_not_fit_are_one_error_line(tmp_path, tiny_model_dir, extra, message):
    folder = tiny_set(tmp_path / "tiny")
    result = run_in_process(
        ["--testset", str(folder), "--variants", "mean", "--model", str(tiny_model_dir), *extra]
    )
    assert result.exit_code == 2
    assert result.stderr.startswith(message) and result.stderr.count("\n") == 1


@pytest.mark.parametrize("weights", ["1,2", "1,x", "0,0"])
def test_bad_function_weights_say_what_is_valid(tmp_path, weights):
    folder = tiny_set(tmp_path / "tiny")
    result = run_in_process(
        ["--testset", str(folder), "--variants", "bm25_lexical", "--function-weights", weights]
    )
    assert result.exit_code == 2
    expected = {
        "1,2": "error: --function-weights: '2' is not a number within [0, 1]",
        "1,x": "error: --function-weights: 'x' is not a number within [0, 1]",
        "0,0": "error: --function-weights names a weight twice: 0,0",
    }[weights]
    assert result.stderr.strip() == expected
