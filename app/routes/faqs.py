"""/v1/faqs: read, create, update and delete FAQ entries (`app.service`); writes are searchable at once."""

from __future__ import annotations

from fastapi import APIRouter, Query

from app import service
from app.deps import Reader, State, Writer
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
from indexing.store import FaqEntry

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


@router.get("", response_model=FaqPage, dependencies=[Reader], summary="List FAQs")
async def list_faqs(
    state: State,
    offset: int = Query(0, ge=0, description="Entries to skip (ordered by id)."),
    limit: int = Query(100, ge=1, le=1000),
) -> FaqPage:
    entries = await service.list_faqs(state)
    return FaqPage(total=len(entries), faqs=[_faq(e) for e in entries[offset : offset + limit]])


@router.get("/{faq_id:path}", response_model=Faq, dependencies=[Reader], summary="Get one FAQ")
async def get_faq(faq_id: str, state: State) -> Faq:
    return _faq(await service.get_faq(state, faq_id))


@router.put(
    "/{faq_id:path}",
    response_model=FaqWriteResponse,
    dependencies=[Writer],
    summary="Create or replace one FAQ",
)
async def put_faq(faq_id: str, body: FaqBody, state: State) -> FaqWriteResponse:
    entry, outcome = await service.put_faq(state, _entry(faq_id, body))
    return FaqWriteResponse(faq=_faq(entry), result=outcome)


@router.delete(
    "/{faq_id:path}", response_model=DeleteResponse, dependencies=[Writer], summary="Delete one FAQ"
)
async def delete_faq(faq_id: str, state: State) -> DeleteResponse:
    return DeleteResponse(deleted=await service.delete_faq(state, faq_id))


@router.post(
    "", response_model=BulkUpsertResponse, dependencies=[Writer], summary="Create or update many FAQs"
)
async def upsert_faqs(body: BulkUpsertRequest, state: State) -> BulkUpsertResponse:
    entries = [_entry(f.id, f) for f in body.faqs]
    result = await service.upsert_faqs(state, entries)
    return BulkUpsertResponse(inserted=result.inserted, updated=result.updated, unchanged=result.unchanged)
