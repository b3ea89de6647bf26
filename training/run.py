"""What `faqsearch train` does, in order: read and check all data, train, score before and after on
the evaluation sets, write MODEL_CARD.md. Nothing is written to --out until the data is good."""

from __future__ import annotations

import json
import platform
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from training.data import TrainData, read_training_data
from training.trainer import TrainConfig, TrainResult, train

BEFORE, AFTER = "before", "after"


def run_training(
    data_paths: list[Path],
    config: TrainConfig,
    *,
    eval_testsets: list[Path],
    pooling: str,
    encoder_loader: Any,
    cache: Any = None,
) -> str:
    """Train and return the model card text (also written to --out/MODEL_CARD.md).
    encoder_loader(model) loads an Encoder as every command does (settings, device, precision)."""
    from eval.testset import load_testset
    from training.trainer import check_out_folder

    check_out_folder(config)
    data = read_training_data(data_paths)
    testsets = [load_testset(path, "eval") for path in eval_testsets]  # refused before training too
    result = train(data, config)
    tables = _before_after(testsets, config, pooling, encoder_loader, cache) if testsets else []
    card = model_card(config, data, result, tables)
    (config.out / "MODEL_CARD.md").write_text(card, encoding="utf-8")
    return card


def _before_after(
    testsets: list[Any], config: TrainConfig, pooling: str, loader: Any, cache: Any
) -> list[str]:
    from eval.report import markdown_table
    from eval.runner import evaluate_models
    from eval.variants import parse_variants

    # both models behind the prefixes the new one was trained with: the comparison is of weights
    encoders = {
        BEFORE: loader(config.model).with_prefixes(
            prefix=config.query_prefix, entry_prefix=config.entry_prefix
        ),
        AFTER: loader(str(config.out)),
    }
    tables = []
    for testset in testsets:
        report = evaluate_models(testset, parse_variants(pooling), encoders, baseline=pooling, cache=cache)
        tables.append(
            f"### {testset.name} ({report.size} {'queries' if report.kind == 'ranking' else 'pairs'})\n\n"
            + markdown_table(report)
        )
    return tables


def _sha256_of_folder(path: str) -> str:
    folder = Path(path)
    if not folder.is_dir():
        return "(hub id: " + path + ")"
    from models.encoder import model_fingerprint

    return model_fingerprint(path)


def model_card(config: TrainConfig, data: TrainData, result: TrainResult, tables: list[str]) -> str:
    hyper = {k: v for k, v in asdict(config).items() if k not in ("out", "progress")}
    hyper["model"] = str(config.model)
    sources = "\n".join(
        f"| `{s.path}` | {s.kind} | {s.examples:,} | `{s.sha256[:16]}` |" for s in data.sources
    )
    stop = " (stopped by --max-minutes)" if result.stopped_early else ""
    parts = [
        "# Model card (written by `faqsearch train`)",
        "",
        f"Base model: `{config.model}`, weights sha256 `{_sha256_of_folder(config.model)}`.",
        f"Trained {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {platform.machine()}: "
        f"{result.steps} steps, {result.epochs_done:.2f} epochs{stop}, {result.seconds / 60:.1f} min, "
        f"peak memory {result.peak_rss_mib:,.0f} MiB.",
        f"Prefixes recorded in `faqsearch.json` and used by every command: query `{config.query_prefix!r}`, "
        f"entry `{config.entry_prefix!r}`.",
        "",
        "## Data",
        "| path | kind | examples | sha256 |",
        "|---|---|---|---|",
        sources,
        f"\nPairs: {len(data.pairs):,} (in-batch negatives ranking loss; hard negatives: "
        f"{sum(p.negative is not None for p in data.pairs):,}); scored pairs: {len(data.scored):,} (CoSENT).",
        "",
        "## Hyperparameters",
        "```json",
        json.dumps(hyper, ensure_ascii=False, indent=2),
        "```",
        f"Training loss, first and last logged: {_first_last(result.losses)}.",
    ]
    if tables:
        parts += ["", "## Before and after (`faqsearch eval`, evaluation splits only)", "", *tables]
    return "\n".join(parts) + "\n"


def _first_last(losses: list[float]) -> str:
    return f"{losses[0]:.4f} → {losses[-1]:.4f}" if losses else "none logged"
