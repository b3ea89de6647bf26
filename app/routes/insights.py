"""What customers asked: the query log (key needed: it holds what people typed)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from app.deps import State, Writer
from app.errors import ApiError
from app.routes import ERROR_RESPONSES
from app.schemas import LoggedSearch, QueryLogResponse

router = APIRouter(prefix="/v1/insights", responses=ERROR_RESPONSES, dependencies=[Writer], tags=["insights"])


@router.get("/queries", response_model=QueryLogResponse, summary="Logged searches, oldest first")
async def queries(
    state: State,
    since: Annotated[str | None, Query(description="ISO-8601 time, e.g. 2026-12-01T00:00:00+00:00")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> QueryLogResponse:
    if since is not None:
        try:
            datetime.fromisoformat(since)
        except ValueError:
            raise ApiError(
                422,
                "invalid_request",
                f"since {since!r} is not an ISO-8601 time; send e.g. 2026-12-01T00:00:00+00:00",
            ) from None
    found = await run_in_threadpool(state.store.logged_searches, since, limit + 1)
    following = found[limit] if len(found) > limit else None  # the first one not returned
    found = found[:limit]
    return QueryLogResponse(
        searches=[
            LoggedSearch(**{**s.__dict__, "categories": list(s.categories) if s.categories else None})
            for s in found
        ],
        next_since=following.at if following else None,
    )
