"""/v1/faqs: read, create, update and delete FAQ entries; writes are searchable at once."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from app.deps import Reader, State, Writer
from app.errors import ApiError
from app.routes import ERROR_RESPONSES
from app.schemas import (
    BulkUpsertRequest,
    BulkUpsertResponse,
    DeleteResponse,
    Faq,
    FaqBody,
    FaqPage,
    FaqWriteResponse,
)
from app.state import ServiceState
from indexing.store import FaqEntry, InvalidFaqEntryError, UpsertResult, normalize_id

router = APIRouter(prefix="/v1/faqs", tags=["faqs"], responses=ERROR_RESPONSES)
# The id routes take `{faq_id:path}`: an id may contain "/" (POST /v1/faqs accepts it), sent as is
# or as %2F, and both reach the same entry. So nothing else may live under /v1/faqs/.


def _faq(entry: FaqEntry) -> Faq:
    return Faq(
        id=entry.id,
        question=entry.question,
        answer=entry.answer,
        category=entry.category,
        alternates=list(entry.alternates),
        created_at=entry.created_at,
        updated_at=entry.updated_at,
    )


def _entry(faq_id: str, body: FaqBody) -> FaqEntry:
    """The entry as sent; the store normalises and checks it."""
    return FaqEntry(
        id=faq_id,
        question=body.question,
        answer=body.answer,
        category=body.category,
        alternates=tuple(body.alternates),
    )


async def _upsert(state: ServiceState, entries: list[FaqEntry]) -> UpsertResult:
    """Store and index the entries (all or nothing). With an index served, the write encodes the
    new questions in the encoder thread so it is searchable when this returns."""
    try:
        if state.searcher is not None:
            return await state.run_in_encoder(state.searcher.upsert, entries)
        return await run_in_threadpool(state.store.upsert_many, entries)
    except InvalidFaqEntryError as exc:
        raise ApiError(
            422, "invalid_faq", f"{exc}; fix these entries and send them again (nothing was written)"
        ) from exc


@router.get("", response_model=FaqPage, dependencies=[Reader], summary="List FAQs")
async def list_faqs(
    state: State,
    offset: int = Query(0, ge=0, description="Entries to skip (ordered by id)."),
    limit: int = Query(100, ge=1, le=1000),
) -> FaqPage:
    entries = await run_in_threadpool(state.store.all)
    return FaqPage(total=len(entries), faqs=[_faq(e) for e in entries[offset : offset + limit]])


@router.get("/{faq_id:path}", response_model=Faq, dependencies=[Reader], summary="Get one FAQ")
async def get_faq(faq_id: str, state: State) -> Faq:
    entry = state.store.get(faq_id)
    if entry is None:
        raise ApiError(404, "not_found", f"no FAQ with id {faq_id!r}; list ids with GET /v1/faqs")
    return _faq(entry)


@router.put(
    "/{faq_id:path}",
    response_model=FaqWriteResponse,
    dependencies=[Writer],
    summary="Create or replace one FAQ",
)
async def put_faq(faq_id: str, body: FaqBody, state: State) -> FaqWriteResponse:
    result = await _upsert(state, [_entry(faq_id, body)])
    entry = state.store.get(faq_id)
    if entry is None:  # deleted by a concurrent request between the write and this read
        raise ApiError(409, "conflict", f"FAQ {faq_id!r} was deleted while it was written; send it again")
    outcome: Literal["inserted", "updated", "unchanged"] = (
        "inserted" if result.inserted else "updated" if result.updated else "unchanged"
    )
    return FaqWriteResponse(faq=_faq(entry), result=outcome)


@router.delete(
    "/{faq_id:path}", response_model=DeleteResponse, dependencies=[Writer], summary="Delete one FAQ"
)
async def delete_faq(faq_id: str, state: State) -> DeleteResponse:
    if state.searcher is not None:
        removed = await state.run_in_encoder(state.searcher.delete, [faq_id])
    else:
        removed = await run_in_threadpool(state.store.delete_many, [faq_id])
    if not removed:
        raise ApiError(404, "not_found", f"no FAQ with id {faq_id!r}; nothing was deleted")
    return DeleteResponse(deleted=normalize_id(faq_id))  # the id as stored: "  lead" deleted "lead"


@router.post(
    "", response_model=BulkUpsertResponse, dependencies=[Writer], summary="Create or update many FAQs"
)
async def upsert_faqs(body: BulkUpsertRequest, state: State) -> BulkUpsertResponse:
    entries = [_entry(f.id, f) for f in body.faqs]
    result = await _upsert(state, entries)
    return BulkUpsertResponse(inserted=result.inserted, updated=result.updated, unchanged=result.unchanged)
