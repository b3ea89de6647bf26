"""Write an evaluation report: `report.json`, `report.md` (a Markdown table) and `report.png`
(the main metric per variant with its 95% confidence interval). Nothing in them depends on the time
or the machine, so a rerun writes identical files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from eval.runner import Report

PRIMARY = {"ranking": "mrr@10", "sts": "spearman"}
_LABELS = {
    "mrr@10": "MRR@10",
    "recall@1": "R@1",
    "recall@5": "R@5",
    "recall@10": "R@10",
    "ndcg@10": "nDCG@10",
    "spearman": "Spearman",
    "pearson": "Pearson",
}


def _p(value: float) -> str:
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def markdown_table(report: Report) -> str:
    """One row per variant: every metric, the main metric's 95% CI, its difference from the
    baseline and the p-value of that difference."""
    primary = PRIMARY[report.kind]
    label = _LABELS[primary]
    head = ["variant", f"{label} [95% CI]"]
    head += [_LABELS[m] for m in report.metric_names if m != primary]
    head += [f"Δ {label} vs {report.baseline}", "p"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in report.results:
        low, high = r.ci95[primary]
        cells = [f"`{r.variant}`", f"{r.metrics[primary]:.3f} [{low:.3f}, {high:.3f}]"]
        cells += [f"{r.metrics[m]:.3f}" for m in report.metric_names if m != primary]
        if r.p_vs_baseline is None or r.delta_vs_baseline is None:
            cells += ["(baseline)", ""]
        else:
            cells += [f"{r.delta_vs_baseline[primary]:+.3f}", _p(r.p_vs_baseline[primary])]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def precision_rule_table(report: Report) -> list[str]:
    """The precision quality rule, variant by variant: each against itself in the first precision."""
    from eval.runner import PRECISION_ALPHA, PRECISION_TOLERANCE

    first = report.precision_rule[0]["against"]
    lines = [
        f"Precision rule (within {PRECISION_TOLERANCE} of the same variant in {first}, and not worse "
        f"at p < {PRECISION_ALPHA}):",
        "",
        f"| variant | precision | Δ {_LABELS[report.precision_rule[0]['metric']]} vs {first} | p | meets rule |",
        "|---|---|---|---|---|",
    ]
    for row in report.precision_rule:
        verdict = "yes" if row["meets_rule"] else "**no**"
        lines.append(
            f"| `{row['variant']}` | {row['precision']} | {row['delta']:+.4f} | {_p(row['p'])} | {verdict} |"
        )
    return lines


def against_self_table(rows: list[dict[str, Any]], setting: str, column: str, title: str) -> list[str]:
    """Each variant under each other value of `setting` (a key of `rows`, shown as `column`)
    against itself under the first value (`against`): the function-weight and entry-view reports."""
    first = rows[0]["against"]
    shown = f"{first:g}" if isinstance(first, float) else str(first)
    label = _LABELS[rows[0]["metric"]]
    lines = [f"{title}:", "", f"| variant | {column} | Δ {label} vs {shown} | p |", "|---|---|---|---|"]
    for row in rows:
        value = row[setting]
        value = f"{value:g}" if isinstance(value, float) else value
        lines.append(f"| `{row['variant']}` | {value} | {row['delta']:+.4f} | {_p(row['p'])} |")
    return lines


def function_weights_table(report: Report) -> list[str]:
    first = report.function_weights[0]["against"]
    title = f"Function-word weight: each variant against itself at weight {first:g}"
    return against_self_table(report.function_weights, "function_weight", "function-word weight", title)


def views_table(report: Report) -> list[str]:
    first = report.views[0]["against"]
    title = f"Entry views: each variant against itself with entries indexed as `{first}`"
    return against_self_table(report.views, "view", "view", title)


def markdown(report: Report) -> str:
    size = f"{report.size:,} {'queries' if report.kind == 'ranking' else 'sentence pairs'}"
    model = (
        f"model `{report.model['name']}` (weights sha256 `{str(report.model['sha256'])[:12]}`)"
        if report.model
        else "no neural model (lexical only)"
    )
    lines = [
        f"# Evaluation: `{report.testset}`",
        "",
        f"{report.kind} set, {size}; {model}; baseline `{report.baseline}`.",
        "",
        markdown_table(report),
        f"Significance: {report.significance}. p is for the difference in "
        f"{_LABELS[PRIMARY[report.kind]]}; every metric's p-value and CI is in `report.json`.",
    ]
    if report.precision_rule:
        lines += ["", *precision_rule_table(report)]
    if report.function_weights:
        lines += ["", *function_weights_table(report)]
    if report.views:
        lines += ["", *views_table(report)]
    reasons = dict.fromkeys(s["reason"] for s in report.skipped)  # one line per reason, in order
    for reason in reasons:
        names = ", ".join(f"`{s['variant']}`" for s in report.skipped if s["reason"] == reason)
        lines += ["", f"Not run ({reason}): {names}."]
    return "\n".join(lines) + "\n"


def chart(report: Report, path: Path) -> None:
    """Horizontal bars of the main metric per variant, 95% CI as error bars, baseline in grey."""
    import matplotlib

    matplotlib.use("Agg")  # files only, never a window
    import matplotlib.pyplot as plt

    primary = PRIMARY[report.kind]
    results = report.results
    values = [r.metrics[primary] for r in results]
    errors = [
        [r.metrics[primary] - r.ci95[primary][0] for r in results],
        [r.ci95[primary][1] - r.metrics[primary] for r in results],
    ]
    colours = ["#999999" if r.variant == report.baseline else "#3b6ea8" for r in results]
    fig, ax = plt.subplots(figsize=(7.5, 0.42 * len(results) + 1.4))
    positions = range(len(results))
    ax.barh(positions, values, xerr=errors, color=colours, capsize=3)
    ax.set_yticks(list(positions), [r.variant for r in results])
    ax.invert_yaxis()
    low = min(r.ci95[primary][0] for r in results)
    ax.set_xlim(max(0.0, low - 0.05), min(1.0, max(r.ci95[primary][1] for r in results) + 0.02))
    ax.set_xlabel(f"{_LABELS[primary]} (95% CI)")
    ax.set_title(f"{report.testset}: {_LABELS[primary]} per variant (grey: baseline {report.baseline})")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100, metadata={"Software": None})
    plt.close(fig)


def write_report(report: Report, out: Path) -> list[Path]:
    """Write the three files into `out` (created if needed) -> their paths."""
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "report.json", out / "report.md", out / "report.png"]
    paths[0].write_text(json.dumps(report.to_json(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    paths[1].write_text(markdown(report), encoding="utf-8")
    chart(report, paths[2])
    return paths
