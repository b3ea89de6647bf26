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
