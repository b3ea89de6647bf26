"""Request and response bodies of the API. Korean examples feed the OpenAPI page at /docs.

Requests are strict (no "10" for 10) and refuse unknown fields, so a typo like `topk` is an error
rather than silently ignored. Text is NFC-normalised by the layers below (`models.text`); length
limits that depend on settings are checked in `app.deps`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

from indexing.store import MAX_ALTERNATES
from models.options import Role, SearchMode

MAX_TOP_K = 100
MAX_BATCH_QUERIES = 64
MAX_RANK_CANDIDATES = 1000
MAX_EMBED_SENTENCES = 256
MAX_BULK_FAQS = 1000
MAX_FILTER_CATEGORIES = 100  # a filter names at most this many categories

_CATEGORIES_DESCRIPTION = (
    "Search only entries whose category is one of these (any normalisation form; GET /v1/categories "
    f"lists them). Applied inside the search, so top_k hits come back whenever that many entries "
    f"match. At most {MAX_FILTER_CATEGORIES}. Unknown names match nothing and are named in `note`. "
    "Leave out to search every entry."
)


class StrictBody(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


def _unicode_text(text: str) -> str:
    """Refuse a lone surrogate as pydantic's own string_unicode error (app.errors words it)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise PydanticCustomError("string_unicode", "not valid Unicode text") from None
    return text


# No min_length: emptiness is checked after normalisation (app.deps.checked_text), so "" and "   "
# get the same empty_text error. The schema still says some text is needed.
QueryText = Annotated[str, AfterValidator(_unicode_text), Field(json_schema_extra={"minLength": 1})]


# -- search ---------------------------------------------------------------------------------------


class SearchRequest(StrictBody):
    query: QueryText = Field(description="The question, in any normalisation form (NFC/NFD).")
    top_k: int = Field(10, ge=1, le=MAX_TOP_K, description="Most hits to return.")
    mode: SearchMode | None = Field(
        None, description="dense | bm25 | hybrid. Default: FAQSEARCH_SEARCH_MODE."
    )
    min_score: float | None = Field(
        None,
        allow_inf_nan=False,
        description="Drop hits whose cosine (the entry's dense score, see Hit.cosine) is below this, in "
        "every mode; hits with no cosine are dropped too. Default: FAQSEARCH_MIN_SCORE (unset: no cut). "
        "Calibrated in eval/README.md ('Scores').",
    )
    explain: bool = Field(
        False, description="Also return the query's BM25 terms and which of them each hit contains."
    )
    categories: list[str] | None = Field(None, description=_CATEGORIES_DESCRIPTION)

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"query": "비밀번호를 잊어버렸어요", "top_k": 5, "mode": "dense"}]}
    )


class QueryTerm(BaseModel):
    text: str = Field(description="The morpheme as written in the query.")
    start: int = Field(description="Character offset in the NFC-normalised query.")
    end: int
    weight: float = Field(description="BM25 idf of the morpheme in the indexed FAQ collection.")


class Matched(BaseModel):
    kind: Literal["question", "alternate", "answer"] = Field(
        description="question: the entry's question; alternate: one of its alternates; answer: a chunk "
        "of its answer (only in an index built with its answers as rows)."
    )
    index: int = Field(
        description="The alternate's position in the entry's `alternates` (from 0), or the answer "
        "chunk's (from 0); 0 for the question."
    )
    text: str = Field(description="That text as stored: the question, the alternate or the answer chunk.")


class Hit(BaseModel):
    id: str
    question: str
    answer: str | None
    alternates: list[str] = Field(description="The entry's other phrasings of the question, in order.")
    category: str | None = None
    score: float = Field(
        description="The mode's ranking score: dense = cosine of the query to the entry's best text "
        "(answer chunks times FAQSEARCH_ANSWER_WEIGHT), in [-1, 1]; bm25 = Okapi BM25 score, >= 0, "
        "unbounded, comparable within one collection only; hybrid convex = W * dense + (1 - W) * BM25, "
        "each min-max normalised over the query's candidates, in [0, 1] and relative to the query; "
        "hybrid rrf = sum of 1 / (k + rank). Only dense scores are absolute: threshold `cosine`."
    )
    cosine: float | None = Field(
        None,
        description="The entry's dense score (as `score` in dense mode) in every mode: what min_score "
        "compares. null: the entry is not among the query's dense candidates (its cosine is lower than "
        "theirs).",
    )
    rank: int = Field(description="1 for the best hit.")
    matched: Matched = Field(
        description="Which text of the entry matched the query: each entry is returned once, scored by "
        "its best text. Dense: the text whose vector is nearest; bm25: the text whose own terms "
        "weigh most for the query; hybrid: the dense side's, or bm25's for an entry only bm25 found."
    )
    matched_terms: list[int] | None = Field(
        None, description="With explain: indexes into query_terms of the terms this FAQ's question contains."
    )


class SearchResponse(BaseModel):
    hits: list[Hit]
    index_version: str
    mode: SearchMode
    took_ms: float
    query_terms: list[QueryTerm] | None = None
    search_id: str = Field(description="This search in the query log; feedback refers to it.")
    note: str | None = Field(
        None, description="Why fewer hits may have come back than asked: unknown categories in the filter."
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "hits": [
                        {
                            "id": "site-001",
                            "question": "비밀번호를 잊어버렸어요. 어떻게 찾나요?",
                            "answer": "로그인 화면의 '비밀번호 찾기'를 누르세요.",
                            "alternates": ["비번을 까먹었어요"],
                            "score": 0.959,
                            "rank": 1,
                            "matched": {"kind": "alternate", "index": 0, "text": "비번을 까먹었어요"},
                        }
                    ],
                    "index_version": "v000001",
                    "mode": "dense",
                    "took_ms": 21.4,
                }
            ]
        }
    )


class BatchSearchRequest(StrictBody):
    queries: list[str] = Field(min_length=1, max_length=MAX_BATCH_QUERIES)
    top_k: int = Field(10, ge=1, le=MAX_TOP_K)
    mode: SearchMode | None = None
    min_score: float | None = Field(
        None, allow_inf_nan=False, description="As in a single search, for every query of the batch."
    )
    categories: list[str] | None = Field(None, description=_CATEGORIES_DESCRIPTION)

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"queries": ["비밀번호를 잊어버렸어요", "회원 탈퇴는 어떻게 하나요?"], "top_k": 3}]
        }
    )


class BatchResult(BaseModel):
    query: str
    hits: list[Hit]
    search_id: str = Field(description="This query's search in the query log.")


class BatchSearchResponse(BaseModel):
    results: list[BatchResult]
    index_version: str
    mode: SearchMode
    took_ms: float
    note: str | None = Field(
        None, description="Why fewer hits may have come back than asked: unknown categories in the filter."
    )


class LoggedSearch(BaseModel):
    search_id: str
    at: str = Field(description="UTC, ISO-8601.")
    query: str
    mode: SearchMode
    categories: list[str] | None
    top_k: int
    hit_ids: list[str] = Field(description="The hits returned, best first.")
    hit_scores: list[float]
    top_score: float | None = Field(description="The best hit's cosine; null: no hit.")
    took_ms: float
    index_version: str


class QueryLogResponse(BaseModel):
    searches: list[LoggedSearch] = Field(description="Oldest first.")
    next_since: str | None = Field(
        description="The time of the first search not returned: send it as `since` for the next page; null: no more."
    )


class CategoryCount(BaseModel):
    name: str
    entries: int = Field(description="Entries in the served index with this category.")


class CategoriesResponse(BaseModel):
    categories: list[CategoryCount] = Field(
        description="By name; entries without a category are not counted."
    )
    index_version: str


# -- rank and embed (no index needed) ---------------------------------------------------------------


class RankRequest(StrictBody):
    query: QueryText
    candidates: list[str] = Field(min_length=1, max_length=MAX_RANK_CANDIDATES)
    pooling: str | None = Field(
        None,
        description="Pooling variant, e.g. mean, cls, bm25. Default: FAQSEARCH_POOLING. bm25 weighs tokens "
        "with the served index's BM25 statistics, so a candidate's score does not depend on the other "
        "candidates; with no index served they are fitted on the candidates.",
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "query": "신용 대출 신청은 어떻게 하나요?",
                    "candidates": [
                        "대출 신청 방법을 알려주세요",
                        "오늘 날씨가 좋네요",
                        "신용카드를 분실했어요",
                    ],
                }
            ]
        }
    )


class RankedCandidate(BaseModel):
    index: int = Field(description="Position of the candidate in the request.")
    text: str
    score: float = Field(description="Cosine similarity to the query.")


class RankResponse(BaseModel):
    results: list[RankedCandidate]
    pooling: str
    took_ms: float


class EmbedRequest(StrictBody):
    sentences: list[str] = Field(min_length=1, max_length=MAX_EMBED_SENTENCES)
    pooling: str | None = None
    role: Role = Field(
        "query",
        description="Which prefix goes before the sentences: the query prefix (FAQSEARCH_MODEL_PREFIX), "
        "or the entry prefix (FAQSEARCH_ENTRY_PREFIX), as the index's own entries are encoded.",
    )

    model_config = ConfigDict(json_schema_extra={"examples": [{"sentences": ["비밀번호를 잊어버렸어요"]}]})


class EmbedResponse(BaseModel):
    vectors: list[list[float]]
    dim: int
    truncated: list[bool]
    pooling: str


# -- FAQs -----------------------------------------------------------------------------------------


_ALTERNATES_DESCRIPTION = (
    "Other phrasings of the question (유사 질문), each searched like the question itself: at most "
    f"{MAX_ALTERNATES}, each within the question's length limit, none equal (after normalisation) to "
    "the question or to another alternate."
)


class FaqBody(StrictBody):
    question: str = Field(min_length=1)
    answer: str | None = None
    category: str | None = None
    # The limits are the store's, checked there, so they read like every other invalid FAQ (422).
    alternates: list[str] = Field(default_factory=list, description=_ALTERNATES_DESCRIPTION)

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "question": "영업시간이 어떻게 되나요?",
                    "answer": "평일 9시부터 18시까지입니다.",
                    "alternates": ["몇 시에 문을 여나요?", "주말에도 영업하나요?"],
                }
            ]
        }
    )


class FaqIn(FaqBody):
    id: str = Field(min_length=1)

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "hours-1",
                    "question": "영업시간이 어떻게 되나요?",
                    "answer": "평일 9시부터 18시까지입니다.",
                    "alternates": ["몇 시에 문을 여나요?"],
                }
            ]
        }
    )


class Faq(BaseModel):
    id: str
    question: str
    answer: str | None
    category: str | None
    alternates: list[str] = Field(description="Other phrasings of the question, in order (index 0 first).")
    created_at: str | None
    updated_at: str | None


class FaqWriteResponse(BaseModel):
    faq: Faq
    result: Literal["inserted", "updated", "unchanged"]


class BulkUpsertRequest(StrictBody):
    faqs: list[FaqIn] = Field(min_length=1, max_length=MAX_BULK_FAQS)


class BulkUpsertResponse(BaseModel):
    inserted: int
    updated: int
    unchanged: int


class DeleteResponse(BaseModel):
    deleted: str


class FaqPage(BaseModel):
    total: int
    faqs: list[Faq]


# -- index and jobs --------------------------------------------------------------------------------


class IndexInfo(BaseModel):
    version: str
    entries: int = Field(description="Entries searchable now, including writes since the build.")
    manifest: dict


class JobAccepted(BaseModel):
    job_id: str


class JobProgress(BaseModel):
    done: int
    total: int


class Job(BaseModel):
    job_id: str
    state: Literal["queued", "running", "succeeded", "failed"]
    progress: JobProgress
    error: str | None
    index_version: str | None = Field(description="The snapshot the job built, once it succeeded.")
    created_at: str
    finished_at: str | None


# -- health ---------------------------------------------------------------------------------------


class Health(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    status: Literal["ready"]
    index_version: str
    entries: int
    problem: str | None = Field(
        default=None,
        description="Only when the served snapshot is not the current one because that one is "
        "damaged: which one, which file, and the fix.",
    )


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable, machine-readable, e.g. invalid_request, not_ready, unauthorized.")
    message: str = Field(description="What went wrong and what to change.")


class ErrorResponse(BaseModel):
    error: ErrorDetail


# -- OpenAI-compatible embeddings -----------------------------------------------------------------


class EmbeddingsRequest(BaseModel):
    """OpenAI's embeddings request. Not strict, and unknown fields (e.g. `user`) are ignored, as
    OpenAI's own server does: clients written for it send them."""

    model: str = Field(
        description="The served model's name (GET /v1/models lists it), or FAQSEARCH_MODEL_ALIAS."
    )
    input: str | list[str] = Field(
        description=f"One text, or a list of up to {MAX_EMBED_SENTENCES}; each within the model's token limit "
        "(not truncated here). Token arrays are not accepted: send the text."
    )
    encoding_format: str = Field(
        "float",
        description="float: a list of numbers; base64: the little-endian float32 bytes, base64-encoded.",
    )
    dimensions: int | None = Field(
        None, description="Only the model's own dimension is accepted: the vectors cannot be shortened."
    )
    user: str | None = Field(None, description="Accepted and ignored.")

    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            "examples": [{"model": "intfloat/multilingual-e5-small", "input": "비밀번호를 잊어버렸어요"}]
        },
    )


class Embedding(BaseModel):
    object: Literal["embedding"] = "embedding"
    index: int = Field(description="Position of the text in `input`.")
    embedding: list[float] | str = Field(
        description="The L2-normalised vector: numbers, or with encoding_format base64 its float32 bytes."
    )


class EmbeddingsUsage(BaseModel):
    prompt_tokens: int = Field(
        description="Tokens the model read: the tokenizer's, prefix and special tokens included."
    )
    total_tokens: int


class EmbeddingsResponse(BaseModel):
    object: Literal["list"] = "list"
    data: list[Embedding]
    model: str
    usage: EmbeddingsUsage


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int = Field(description="When this server started (Unix time).")
    owned_by: str


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


class OpenAIErrorDetail(BaseModel):
    message: str = Field(description="What went wrong and what to change.")
    type: str = Field(description="invalid_request_error (4xx) or server_error (5xx).")
    param: str | None = None
    code: str | None = Field(description="Stable, machine-readable, e.g. model_not_found, empty_input.")


class OpenAIErrorResponse(BaseModel):
    error: OpenAIErrorDetail
