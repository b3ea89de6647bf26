"""report.md / report.json / report.png from a hand-made report."""

import json

from eval.report import markdown, markdown_table, write_report
from eval.runner import STS_TEST, Report, VariantResult

STS = Report(
    testset="korsts_dev",
    kind="sts",
    size=1500,
    model={"name": "me5", "sha256": "0123456789abcdef", "prefix": "query: ", "max_length": 512},
    baseline="mean",
    significance=STS_TEST,
    results=[
        VariantResult(
            "mean",
            {"spearman": 0.8071, "pearson": 0.79},
            {"spearman": [0.79, 0.82], "pearson": [0.77, 0.81]},
            None,
            None,
        ),
        VariantResult(
            "bm25",
            {"spearman": 0.8262, "pearson": 0.8},
            {"spearman": [0.81, 0.84], "pearson": [0.78, 0.82]},
            {"spearman": 0.0004, "pearson": 0.21},
            {"spearman": 0.0191, "pearson": 0.01},
        ),
    ],
    skipped=[
        {"variant": "bm25_lexical", "reason": "ranking only"},
        {"variant": "rrf:mean:k=60", "reason": "ranking only"},
    ],
)


def test_the_table_has_one_row_per_variant_with_ci_delta_and_p():
    assert markdown_table(STS) == (
        "| variant | Spearman [95% CI] | Pearson | Δ Spearman vs mean | p |\n"
        "|---|---|---|---|---|\n"
        "| `mean` | 0.807 [0.790, 0.820] | 0.790 | (baseline) |  |\n"
        "| `bm25` | 0.826 [0.810, 0.840] | 0.800 | +0.019 | <0.001 |\n"
    )


def test_the_markdown_report_names_the_set_model_test_and_skipped_variants():
    text = markdown(STS)
    assert text.startswith("# Evaluation: `korsts_dev`\n\nsts set, 1,500 sentence pairs; model `me5`")
    assert "(weights sha256 `0123456789ab`); baseline `mean`." in text
    assert f"Significance: {STS_TEST}." in text
    assert text.endswith("Not run (ranking only): `bm25_lexical`, `rrf:mean:k=60`.\n")


def test_write_report_writes_json_markdown_and_a_png(tmp_path):
    paths = write_report(STS, tmp_path / "out")
    assert [p.name for p in paths] == ["report.json", "report.md", "report.png"]
    data = json.loads(paths[0].read_text(encoding="utf-8"))
    assert list(data) == [
        "testset",
        "kind",
        "size",
        "model",
        "baseline",
        "significance",
        "results",
        "skipped",
    ]
    assert data["results"][1] == {
        "variant": "bm25",
        "metrics": {"spearman": 0.8262, "pearson": 0.8},
        "ci95": {"spearman": [0.81, 0.84], "pearson": [0.78, 0.82]},
        "p_vs_baseline": {"spearman": 0.0004, "pearson": 0.21},
        "delta_vs_baseline": {"spearman": 0.0191, "pearson": 0.01},
    }
    assert paths[1].read_text(encoding="utf-8") == markdown(STS)
    assert paths[2].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
