"""The FastAPI application: `create_app(settings)`; the model and the index load in its lifespan."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from app.errors import error_response, install_error_handlers
from app.limits import BodySizeLimit
from app.metrics import RequestMetricsMiddleware, ServiceMetrics
from app.routes import embeddings, faqs, health, index, insights, page, search
from app.state import NotReadyError, ServiceState
from faqsearch import __version__
from faqsearch.settings import Settings, get_settings
from indexing.store import StoreBusyError

if TYPE_CHECKING:
    from models.encoder import Encoder

logger = logging.getLogger(__name__)

# How often the service looks whether another process switched the current snapshot.
SNAPSHOT_POLL_S = 2.0

DESCRIPTION = """
Semantic similarity search over Korean FAQs: a question in, the FAQ entries that mean the same
thing out, ranked, even when no word is shared.

Reads (`/v1/search`, `/v1/rank`, `/v1/embed`, `/v1/embeddings`, GET `/v1/faqs`, GET `/v1/models`) are open unless
`FAQSEARCH_PROTECT_READS` is set; writes need `Authorization: Bearer <FAQSEARCH_API_KEY>`.
Every error is `{"error": {"code", "message"}}`, except on the OpenAI-compatible `POST /v1/embeddings`
and `GET /v1/models`, whose errors are OpenAI's `{"error": {"message", "type", "param", "code"}}`.
"""


def load_encoder(settings: Settings) -> Encoder:
    from models.encoder import Encoder

    return Encoder.load(settings.model, **settings.encoder_options())  # type: ignore[arg-type]


async def _follow_snapshots(state: ServiceState) -> None:
    """Serve the snapshot CURRENT names when another process switches it (`faqsearch index
    rollback`, or `index build` beside the running server), within SNAPSHOT_POLL_S."""
    while True:
        await asyncio.sleep(SNAPSHOT_POLL_S)
        if await run_in_threadpool(state.snapshot_switched_elsewhere) is not None:  # reads a file
            await state.run_in_encoder(state.follow_current_snapshot)


def create_app(settings: Settings | None = None, *, encoder: Encoder | None = None) -> FastAPI:
    """Build the app. `encoder`: an already loaded encoder to use (tests, `faqsearch serve`)."""
    settings = settings or get_settings()
    from models.threads import configure_once

    configure_once(settings.threads)  # `uvicorn --factory app.main:create_app` starts here
    metrics = ServiceMetrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        model = encoder if encoder is not None else await run_in_threadpool(load_encoder, settings)
        state = ServiceState(settings, model, metrics)
        # In the encoder thread, like every forward pass (see ServiceState.executor).
        await state.run_in_encoder(state.load_index)
        await state.run_in_encoder(state.warm_up)
        await state.batcher.start()
        app.state.service = state
        if state.not_ready_reason:
            logger.warning("not ready: %s", state.not_ready_reason)
        follower = asyncio.create_task(_follow_snapshots(state))
        try:
            yield
        finally:
            follower.cancel()
            await state.batcher.stop()
            state.close()

    app = FastAPI(
        title="faqsearch",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    install_error_handlers(app)

    @app.exception_handler(NotReadyError)
    async def _not_ready(request: Request, exc: NotReadyError) -> JSONResponse:
        return error_response(503, "not_ready", str(exc), path=request.url.path)

    @app.exception_handler(StoreBusyError)
    async def _store_busy(request: Request, exc: StoreBusyError) -> JSONResponse:
        logger.warning("%s %s: %s", request.method, request.url.path, exc)
        return error_response(503, "store_busy", str(exc), {"Retry-After": "5"}, path=request.url.path)

    for router in (
        search.router,
        embeddings.router,
        faqs.router,
        index.router,
        insights.router,
        health.router,
        page.router,
    ):
        app.include_router(router)
    # The last added is outermost: metrics see every response, the size limit's 413 included.
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestMetricsMiddleware, metrics=metrics)
    return app
