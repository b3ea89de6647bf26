"""Each option's list of values is defined once (models/options.py) and used everywhere."""

from __future__ import annotations

from typing import get_args


def test_settings_schemas_and_library_use_the_one_list():
    from app.schemas import EmbedRequest, SearchRequest
    from faqsearch.settings import Settings
    from indexing import fusion, searcher, vector_index
    from models import device, encoder, options

    fields = Settings.model_fields
    assert get_args(fields["search_mode"].annotation) == options.SEARCH_MODES == searcher.SEARCH_MODES
    assert get_args(fields["hybrid_fusion"].annotation) == options.FUSIONS == fusion.FUSIONS
    assert get_args(fields["index_type"].annotation) == options.INDEX_TYPES == vector_index.INDEX_TYPES
    assert get_args(fields["precision"].annotation) == options.PRECISION_CHOICES == device.PRECISION_CHOICES
    assert get_args(EmbedRequest.model_fields["role"].annotation) == options.ROLES == encoder.ROLES
    assert set(get_args(SearchRequest.model_fields["mode"].annotation)) == {options.SearchMode, type(None)}
    assert options.SEARCH_MODES == ("dense", "bm25", "hybrid") and options.FUSIONS == ("rrf", "convex")
