"""EncoderIdentity: the manifest fields it writes (exactly those indexes on disk hold) and the refusal
`check` raises for each field that differs, in the words `LoadedIndex.check_compatible` uses."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from eval.retrieval import PrecomputedEncoder
from models.embedder import Embedder
from models.identity import EncoderIdentity, IndexMismatchError

REPO_ROOT = Path(__file__).resolve().parents[2]
A, B = "a" * 64, "b" * 64
IDENTITY = EncoderIdentity(
    name="/models/me5", sha256=A, prefix="query: ", entry_prefix="passage: ", max_length=512, dim=4
)
FIX = (
    ". Rebuild the index with the configured settings (faqsearch index build), or set FAQSEARCH_MODEL / "
    "FAQSEARCH_MODEL_PREFIX / FAQSEARCH_ENTRY_PREFIX / FAQSEARCH_MAX_LENGTH / FAQSEARCH_POOLING / "
    "FAQSEARCH_FUNCTION_WORD_WEIGHT / FAQSEARCH_USER_DICT / FAQSEARCH_SYNONYMS / FAQSEARCH_INDEX_ANSWERS "
    "/ FAQSEARCH_ANSWER_WEIGHT to what the index was built with."
)


def test_to_manifest_is_the_model_section_and_dim_and_round_trips():
    manifest = IDENTITY.to_manifest()
    assert manifest == {
        "model": {
            "name": "/models/me5",
            "sha256": A,
            "prefix": "query: ",
            "entry_prefix": "passage: ",
            "max_length": 512,
            "precision": "fp32",
        },
        "dim": 4,
    }
    assert list(manifest["model"]) == ["name", "sha256", "prefix", "entry_prefix", "max_length", "precision"]
    assert EncoderIdentity.from_manifest(manifest) == IDENTITY
    # an index built before entry prefixes and precisions were recorded
    del manifest["model"]["entry_prefix"], manifest["model"]["precision"]
    older = EncoderIdentity.from_manifest(manifest)
    assert (older.entry_prefix, older.precision) == ("query: ", "fp32")


def test_of_reads_an_encoder_and_a_stand_in_round_trips():
    stand_in = PrecomputedEncoder.of(IDENTITY, {}, bm25=None)
    assert EncoderIdentity.of(stand_in) == IDENTITY
    bf16 = dataclasses.replace(IDENTITY, precision="bf16")
    assert EncoderIdentity.of(PrecomputedEncoder.of(bf16, {}, bm25=None)) == bf16


def test_check_passes_an_equal_manifest_and_one_differing_in_name_or_precision_only():
    IDENTITY.check(IDENTITY.to_manifest())
    manifest = IDENTITY.to_manifest()
    manifest["model"].update(name="/elsewhere/me5", precision="bf16")  # same weights, mounted elsewhere
    IDENTITY.check(manifest, "v000001")
    assert IDENTITY.problems(manifest) == []


MODEL = (
    "it was built with model '/models/me5' (weights sha256 aaaaaaaaaaaa, dim {built_dim}) but the "
    "configured model is '/models/me5' (sha256 {sha:.12}, dim {dim})"
)
DIFFERENCES = {
    "sha256": ({"sha256": B}, MODEL.format(built_dim=4, sha=B, dim=4)),
    "dim": ({"dim": 8}, MODEL.format(built_dim=4, sha=A, dim=8)),
    "prefix": (
        {"prefix": ""},
        "it was built with the prefix 'query: ' before every query but the configured prefix is '' "
        "(FAQSEARCH_MODEL_PREFIX)",
    ),
    "entry_prefix": (
        {"entry_prefix": "query: "},
        "it was built with the entry prefix 'passage: ' before every FAQ entry but the configured entry "
        "prefix is 'query: ' (FAQSEARCH_ENTRY_PREFIX, unset: the query prefix)",
    ),
    "max_length": (
        {"max_length": 8},
        "it was built with sentences cut at 512 tokens but the configured limit is 8",
    ),
}


@pytest.mark.parametrize("field", list(DIFFERENCES))
def test_check_refuses_each_differing_field_naming_both_sides(field):
    change, problem = DIFFERENCES[field]
    configured = dataclasses.replace(IDENTITY, **change)
    with pytest.raises(IndexMismatchError) as info:
        configured.check(IDENTITY.to_manifest(), "v000003")
    assert str(info.value) == f"index v000003 does not match the configuration: {problem}{FIX}"
    # clients see the model folder by its name only
    assert info.value.public == str(info.value).replace("/models/me5", "me5")
    with pytest.raises(IndexMismatchError, match=r"^index \(unsaved\) does not match"):
        configured.check(IDENTITY.to_manifest())


def test_every_difference_is_named_in_one_refusal_in_field_order():
    configured = EncoderIdentity("/models/me5", B, "", "query: ", 8, 4)
    with pytest.raises(IndexMismatchError) as info:
        configured.check(IDENTITY.to_manifest(), "v000001")
    problems = [DIFFERENCES[f][1] for f in ("sha256", "prefix", "entry_prefix", "max_length")]
    assert str(info.value) == "index v000001 does not match the configuration: " + "; ".join(problems) + FIX


def test_a_manifest_without_prefixes_or_limit_is_checked_as_before():
    # Indexes built before the prefix and the token limit were recorded are served by any; one
    # without an entry prefix had its entries behind its query prefix.
    manifest = IDENTITY.to_manifest()
    for key in ("prefix", "entry_prefix", "max_length"):
        del manifest["model"][key]
    IDENTITY.check(manifest)
    manifest = IDENTITY.to_manifest()
    del manifest["model"]["entry_prefix"]
    symmetric = dataclasses.replace(IDENTITY, entry_prefix="query: ")
    symmetric.check(manifest)
    with pytest.raises(IndexMismatchError, match="built with the entry prefix 'query: ' before every FAQ"):
        IDENTITY.check(manifest)


class _Recording:
    """A stand-in encoder that records what each call asked for."""

    name, fingerprint, prefix, entry_prefix, max_length, dim, precision = "x", A, "", "", 8, 2, "fp32"

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def encode(self, texts, pooling="mean", *, bm25=None, role="query"):
        from models.sentence_encoder import Encoded

        self.calls.append((list(texts), pooling.name, bm25, role))
        return Encoded(np.zeros((len(texts), 2), dtype=np.float32), np.zeros(len(texts), dtype=bool))


def test_an_embedder_keeps_the_statistics_only_for_a_pooling_that_reads_them():
    stats = object()  # stands in for Bm25Stats: the embedder only passes it on
    encoder = _Recording()
    Embedder.bind(encoder, "mean", stats).encode(["가"], role="entry")
    Embedder.bind(encoder, "bm25@last4", stats).encode(["나"])
    assert encoder.calls == [(["가"], "mean", None, "entry"), (["나"], "bm25@last4", stats, "query")]
    with pytest.raises(ValueError, match="unknown pooling 'nope'"):
        Embedder.bind(encoder, "nope")


def test_the_identity_embedder_and_protocol_import_no_torch():
    code = (
        "import models.identity, models.embedder, models.sentence_encoder, sys; print('torch' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "False"
