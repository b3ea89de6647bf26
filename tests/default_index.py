"""Build a snapshot as `faqsearch index build` does with no FAQSEARCH_* set: the servers of the
tests run with the default settings, and an index built otherwise is refused by them."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def build_default_snapshot(data_dir: Path, encoder, **overrides: Any):
    from faqsearch.settings import Settings
    from indexing.build import build_snapshot

    defaults = Settings.model_construct()  # the defaults, whatever FAQSEARCH_* the shell has
    options: dict[str, Any] = {
        "function_weight": defaults.function_word_weight,
        "rows": defaults.row_policy(),
        **overrides,
    }
    pooling = options.pop("pooling", defaults.pooling)
    return build_snapshot(data_dir, encoder, pooling, **options)


def data_dir_with_snapshots(folder: Path, encoder, entries, count: int, **overrides: Any) -> Path:
    """`folder` as a data directory holding `entries` and `count` snapshots built with the
    defaults (the last one current)."""
    from indexing.store import FaqStore

    with FaqStore.open(folder) as store:
        store.upsert_many(entries)
    for _ in range(count):
        build_default_snapshot(folder, encoder, **overrides)
    return folder
