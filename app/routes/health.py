"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Response

from app.deps import State
from app.errors import ApiError
from app.routes import ERROR_RESPONSES
from app.schemas import Health, Readiness

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health, summary="The process is alive")
async def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Readiness,
    response_model_exclude_none=True,  # `problem` only when there is one
    responses={503: ERROR_RESPONSES[503]},
    summary="Ready to search",
)
async def readyz(state: State) -> Readiness:
    searcher = state.searcher
    if not state.warm or searcher is None:
        raise ApiError(503, "not_ready", state.not_ready_reason or "the model is still warming up")
    index = searcher.index
    return Readiness(
        status="ready", index_version=index.version, entries=index.count, problem=state.snapshot_problem
    )


@router.get("/metrics", response_class=Response, summary="Prometheus metrics")
async def metrics(state: State) -> Response:
    state.metrics.set_query_log(state.query_log.written, state.query_log.dropped)
    if state.searcher is not None:  # entries change with every write, not only on rebuilds
        state.metrics.set_index(state.searcher.index.version, state.searcher.index.count)
    return Response(state.metrics.render(), media_type=state.metrics.content_type)
