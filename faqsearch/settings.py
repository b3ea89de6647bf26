"""The one settings class of faqsearch: every option, its default, read from `FAQSEARCH_*` env vars.

Library code never reads settings itself; the CLI and the service read them here and pass
plain arguments down, so `models` and `indexing` stay usable without any environment.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from models.errors import FaqsearchError
from models.options import (
    DEFAULT_FUSION,
    DEFAULT_HYBRID_WEIGHT,
    DEFAULT_RRF_K,
    DEFAULT_SEARCH_MODE,
    Fusion,
    IndexType,
    Precision,
    SearchMode,
)

if TYPE_CHECKING:
    from indexing.rows import RowPolicy
    from models.domain_words import DomainWords


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FAQSEARCH_", extra="ignore")

    model: str = Field(
        "intfloat/multilingual-e5-small",
        description="Encoder: a hub id or a local folder of any BERT-family model.",
    )
    model_prefix: str | None = Field(
        None,
        description="Text put before every query (and every FAQ entry unless FAQSEARCH_ENTRY_PREFIX is set). "
        "Unset: 'query: ' for e5 models, none otherwise.",
    )
    entry_prefix: str | None = Field(
        None,
        description="Text put before every FAQ entry's indexed text and every /v1/rank candidate, for "
        "asymmetric models (e5: 'passage: '). Unset: the same as before queries.",
    )
    device: str = Field("auto", description="'auto' (CUDA if present, else CPU), 'cpu', 'cuda' or 'cuda:N'.")
    precision: Precision = Field(
        "auto",
        description="'auto' = bf16 (or fp16) on GPU; on CPU the fastest precision that meets the quality "
        "rule and that the CPU runs natively (eval/README.md). CPU: fp32, bf16, int8; GPU: fp32, bf16, fp16.",
    )
    max_length: int | None = Field(
        None, ge=8, description="Token limit per sentence; unset = the model's own maximum."
    )
    threads: str = Field(
        "auto",
        description="CPU threads of the encoder and FAISS: 'auto' (the CPUs this process may use, by "
        "affinity and container quota, less those other processes keep busy at each forward pass) or N.",
    )
    batch_size: int = Field(64, ge=1, le=4096, description="Sentences per encoder forward pass.")
    pooling: str = Field(
        "bm25",
        description="Default pooling variant (see `faqsearch embed --help`); bm25 by evaluation (eval/README.md).",
    )
    data_dir: Path = Field(Path("data"), description="Folder of one FAQ collection: store and snapshots.")
    index_type: IndexType = Field(
        "flat", description="FAISS index built by `index build`: flat (exact), hnsw or ivf (large corpora)."
    )
    write_wait_s: float = Field(
        10.0,
        gt=0,
        le=600,
        description="Seconds a write to the FAQ store waits for another process's write (an import) "
        "before it is refused: 503 store_busy naming that writer. Searches never wait for writes.",
    )
    snapshot_keep: int = Field(
        3,
        ge=1,
        description="Index snapshots kept on disk (the current one always is, and so is the newest "
        "good one before it).",
    )
    search_mode: SearchMode = Field(
        DEFAULT_SEARCH_MODE,
        description="Default search mode: hybrid (convex fusion of dense and BM25) by the default rule of "
        "eval/README.md.",
    )
    rrf_k: int = Field(DEFAULT_RRF_K, ge=1, description="k of reciprocal rank fusion in hybrid search.")
    function_word_weight: float = Field(
        0.0,
        description="Factor in [0, 1] of the BM25 weight of particles, endings, suffixes and symbols, in "
        "BM25 pooling, lexical search and the search page (1 = plain BM25; 0, the default, by eval/README.md). Kept in "
        "the index: change it, then rebuild.",
    )
    index_answers: bool = Field(
        True,
        description="Also index each entry's answer, cut at sentence boundaries into chunks of the model's "
        "token limit (a vector each; lexical BM25 sees the answer too). Kept in the index: change it, then "
        "rebuild. Default by evaluation (eval/README.md).",
    )
    answer_weight: float = Field(
        1.0,
        gt=0.0,
        le=1.0,
        description="Factor of answer chunks' dense scores against question texts' (an entry scores the "
        "best of its rows), in (0, 1]. Kept in the index, like FAQSEARCH_INDEX_ANSWERS.",
    )
    user_dict: Path | None = Field(
        None,
        description="Kiwi user dictionary: lines WORD<TAB>TAG[<TAB>SCORE] (# comments); copied into each "
        "index built, so changing it needs `faqsearch index build`.",
    )
    synonyms: Path | None = Field(
        None,
        description="Synonym groups, one a line, comma-separated, canonical first (공인인증서, 공동인증서); "
        "they match each other in BM25 and pooling. Copied into each index built, like the user dictionary.",
    )

    # -- the HTTP service (`faqsearch serve`) --
    host: str = Field("127.0.0.1", description="Address `faqsearch serve` listens on.")
    port: int = Field(8000, ge=1, le=65535, description="Port `faqsearch serve` listens on.")
    api_key: SecretStr | None = Field(
        None,
        description="Bearer key for writes (/v1/faqs writes, /v1/index/rebuild). Unset: writes are refused.",
    )
    protect_reads: bool = Field(
        False, description="Also require the API key for searches, rank, embed and reads of FAQs."
    )
    max_query_chars: int = Field(
        1000, ge=1, description="Longest query or sentence accepted by the API, in characters (after NFC)."
    )
    max_body_bytes: int = Field(
        4 * 1024 * 1024, ge=1024, description="Largest request body accepted (bigger: 413)."
    )
    micro_batching: bool = Field(
        True,
        description="Let concurrent searches, rank and embed requests share encoder forward passes.",
    )
    batch_window_ms: float = Field(
        3.0,
        ge=0,
        le=1000,
        description="After a shared forward pass, how long the next one waits for more requests to join it.",
    )
    max_batch: int = Field(
        64,
        ge=1,
        le=4096,
        description="Sentences gathered for one shared forward pass (a longer request takes turns with "
        "the others, pass by pass).",
    )
    max_batch_tokens: int = Field(
        8192,
        ge=8,
        le=1_048_576,
        description="Tokens of one shared forward pass: its sentences times its longest sentence's tokens "
        "(a pass always takes its first sentence), so short requests do not wait behind a long one's pass.",
    )
    model_alias: str | None = Field(
        None,
        description="Another model name that POST /v1/embeddings accepts and GET /v1/models lists, e.g. "
        "text-embedding-3-small for clients that send a fixed name. Unset: only the served model's name.",
    )
    access_log: bool = Field(
        False,
        description="Log one line per request (uvicorn's access log); /metrics counts requests either way.",
    )

    # -- hybrid fusion (chosen by evaluation, see eval/README.md) and the offline evaluation --
    hybrid_fusion: Fusion = Field(
        DEFAULT_FUSION,
        description="How hybrid search fuses dense and BM25 hits: rrf (reciprocal rank fusion, k = rrf_k) "
        "or convex (hybrid_weight * dense + (1 - hybrid_weight) * BM25, min-max normalised per query).",
    )
    hybrid_weight: float = Field(
        DEFAULT_HYBRID_WEIGHT,
        ge=0.0,
        le=1.0,
        description="Weight of the dense scores in convex fusion (BM25: 1 - weight).",
    )
    min_score: float | None = Field(
        None,
        ge=-1.0,
        le=1.0,
        description="Server-wide min_score for searches that send none: hits whose cosine is below it are "
        "dropped, in every mode. Unset: no cut. The value for 90% precision is in eval/README.md, 'Scores'.",
    )
    query_log_days: int = Field(
        30,
        ge=0,
        description="Days the query log (every search: query, mode, filter, top hits, time; no client IP) "
        "keeps its rows in the store; 0 turns the log off. Reads of it need the API key.",
    )
    eval_cache: Path | None = Field(
        None,
        description="Folder of `faqsearch eval`'s vector cache; unset: $XDG_CACHE_HOME (else ~/.cache)/faqsearch/eval.",
    )

    @field_validator("model_prefix", "entry_prefix")
    @classmethod
    def _valid_prefix(cls, value: str | None) -> str | None:
        from models.text import normalize_prefix  # torch-free

        return None if value is None else normalize_prefix(value)

    @field_validator("function_word_weight")
    @classmethod
    def _valid_function_word_weight(cls, value: float) -> float:
        # Not models.bm25's check: that imports numpy, whose BLAS reads thread settings on import.
        if not 0.0 <= value <= 1.0:
            raise ValueError(
                f"must be within [0, 1] (0: particles, endings, suffixes and symbols count for nothing; "
                f"1: as much as content words), got {value}"
            )
        return value

    @field_validator("device")
    @classmethod
    def _valid_device(cls, value: str) -> str:
        from models.options import check_device  # torch-free

        return check_device(value)

    @field_validator("pooling")
    @classmethod
    def _valid_pooling(cls, value: str) -> str:
        """The grammar only: whether the model has the layers asked for is checked when it loads."""
        from models.pooling_spec import parse_pooling  # torch-free

        parse_pooling(value)
        return value

    @field_validator("threads")
    @classmethod
    def _valid_threads(cls, value: str) -> str:
        from models.threads import parse_threads  # torch-free

        parse_threads(value)
        return value.strip().lower()

    @field_validator("user_dict", "synonyms")
    @classmethod
    def _valid_word_file(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        """Checked in full at startup, so a bad line stops the service before it serves."""
        from models.domain_words import DomainWords, WordFile  # Kiwi-free

        if value is not None:
            file = WordFile.read(value)
            DomainWords(**{info.field_name or "": file})
        return value

    def row_policy(self) -> RowPolicy:
        """What of an entry is indexed (`indexing.rows`): its question texts, and its answer if asked."""
        from indexing.rows import RowPolicy

        return RowPolicy(answers=self.index_answers, answer_weight=self.answer_weight)

    def domain_words(self) -> DomainWords:
        """The configured user dictionary and synonyms, read now (a rebuild reads them anew)."""
        from models.domain_words import DomainWords

        return DomainWords.read(self.user_dict, self.synonyms)

    def encoder_options(self) -> dict[str, object]:
        """Keyword arguments of `models.encoder.Encoder.load` (all but the model name)."""
        return {
            "device": self.device,
            "precision": self.precision,
            "prefix": self.model_prefix,
            "entry_prefix": self.entry_prefix,
            "max_length": self.max_length,
            "batch_size": self.batch_size,
        }


class SettingsError(FaqsearchError, ValueError):
    """An FAQSEARCH_* variable holds a value that is not valid; the message names it and the fix."""


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    from pydantic import ValidationError

    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"FAQSEARCH_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg'].removeprefix('Value error, ')}"
            for e in exc.errors()
        )
        raise SettingsError(f"invalid setting: {problems}") from None
