"""What decides whether two sets of sentence vectors are compatible: one encoder's identity.

An index built with other weights, another prefix before its queries or its entries, another token
limit or another width holds vectors that a query of this encoder cannot be compared with. The
fields are written once (`to_manifest`, the snapshot manifest's "model" section and "dim"; the
evaluation report's "model") and checked once (`check`, `problems`), here. Precision is recorded
but not checked: vectors of one precision differ from another's by rounding only (eval/README.md,
"Precision"). Torch-free: the CLI and settings import it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from models.errors import FaqsearchError
from models.sentence_encoder import SentenceEncoder


class IndexMismatchError(FaqsearchError, ValueError):
    """The snapshot was built with another model, prefix, pooling or function-word weight than the
    one configured, or by a version whose BM25 terms this one does not read. `public`: the same with
    folders shown by their names only, for clients of the service."""

    def __init__(self, message: str, public: str | None = None) -> None:
        super().__init__(message)
        self.public = public or message


def _names_only(text: str, paths: Iterable[str | None]) -> str:
    """`text` with each absolute path of `paths` shown by its last part (a model folder's name)."""
    for path in sorted({p for p in paths if p and os.path.isabs(p)}, key=len, reverse=True):
        text = text.replace(path, Path(path).name)
    return text


def mismatch_error(version: str, problems: Iterable[str], paths: Iterable[str | None]) -> IndexMismatchError:
    """The one refusal of an index that does not match the configuration: every problem, then the
    fix; `paths` (model folders, domain-word files) are shown by name in the public text."""
    message = (
        f"index {version or '(unsaved)'} does not match the configuration: "
        + "; ".join(problems)
        + ". Rebuild the index with the configured settings (faqsearch index build), or set "
        "FAQSEARCH_MODEL / FAQSEARCH_MODEL_PREFIX / FAQSEARCH_ENTRY_PREFIX / FAQSEARCH_MAX_LENGTH / "
        "FAQSEARCH_POOLING / FAQSEARCH_FUNCTION_WORD_WEIGHT / FAQSEARCH_USER_DICT / FAQSEARCH_SYNONYMS "
        "/ FAQSEARCH_INDEX_ANSWERS / FAQSEARCH_ANSWER_WEIGHT to what the index was built with."
    )
    return IndexMismatchError(message, _names_only(message, paths))


@dataclass(frozen=True)
class EncoderIdentity:
    name: str  # hub id or folder: shown, not compared (the same weights may be mounted elsewhere)
    sha256: str  # of the weight files (`models.encoder.model_fingerprint`)
    prefix: str  # before every query
    entry_prefix: str  # before every indexed entry
    max_length: int  # tokens a sentence is cut at
    dim: int  # the vectors' width
    precision: str = "fp32"  # informational only (see the module's note)

    @classmethod
    def of(cls, encoder: SentenceEncoder) -> EncoderIdentity:
        return cls(
            name=encoder.name,
            sha256=encoder.fingerprint,
            prefix=encoder.prefix,
            entry_prefix=encoder.entry_prefix,
            max_length=encoder.max_length,
            dim=encoder.dim,
            precision=encoder.precision,
        )

    def model_record(self) -> dict[str, Any]:
        """The manifest's "model" section, also the evaluation report's "model" (keys in this order)."""
        return {
            "name": self.name,
            "sha256": self.sha256,
            "prefix": self.prefix,  # before queries
            "entry_prefix": self.entry_prefix,  # before entries; older manifests: = prefix
            "max_length": self.max_length,
            "precision": self.precision,
        }

    def to_manifest(self) -> dict[str, Any]:
        """What a snapshot manifest records of the encoder: {"model": model_record(), "dim": D}."""
        return {"model": self.model_record(), "dim": self.dim}

    @classmethod
    def from_manifest(cls, manifest: Mapping[str, Any]) -> EncoderIdentity:
        """The identity a manifest records; an older manifest's entry prefix is its query prefix,
        and its precision, never recorded, reads as fp32 (informational only: not checked)."""
        model = manifest["model"]
        return cls(
            name=str(model["name"]),
            sha256=str(model["sha256"]),
            prefix=str(model["prefix"]),
            entry_prefix=str(model.get("entry_prefix", model["prefix"])),
            max_length=int(model["max_length"]),
            dim=int(manifest["dim"]),
            precision=str(model.get("precision", "fp32")),
        )

    def problems(self, manifest: Mapping[str, Any]) -> list[str]:
        """How the encoder that built `manifest` differs from this one, one sentence each naming both
        sides; a key an older manifest lacks counts as this encoder's (entry prefix: its query prefix)."""
        built = manifest["model"]
        problems = []
        if built["sha256"] != self.sha256 or int(manifest["dim"]) != self.dim:
            problems.append(
                f"it was built with model {built['name']!r} (weights sha256 {built['sha256'][:12]}, dim "
                f"{manifest['dim']}) but the configured model is {self.name!r} (sha256 {self.sha256[:12]}, "
                f"dim {self.dim})"
            )
        if built.get("prefix", self.prefix) != self.prefix:
            problems.append(
                f"it was built with the prefix {built['prefix']!r} before every query but the configured "
                f"prefix is {self.prefix!r} (FAQSEARCH_MODEL_PREFIX)"
            )
        built_entry = built.get("entry_prefix", built.get("prefix", self.entry_prefix))
        if built_entry != self.entry_prefix:
            problems.append(
                f"it was built with the entry prefix {built_entry!r} before every FAQ entry but the "
                f"configured entry prefix is {self.entry_prefix!r} (FAQSEARCH_ENTRY_PREFIX, unset: the "
                "query prefix)"
            )
        if int(built.get("max_length", self.max_length)) != self.max_length:
            problems.append(
                f"it was built with sentences cut at {built['max_length']} tokens but the configured limit "
                f"is {self.max_length}"
            )
        return problems

    def check(self, manifest: Mapping[str, Any], version: str = "") -> None:
        """Raise IndexMismatchError, as `LoadedIndex.check_compatible` words it, if the index of
        `manifest` (snapshot `version`) was built by an incompatible encoder."""
        if problems := self.problems(manifest):
            raise mismatch_error(version, problems, [manifest["model"]["name"], self.name])
