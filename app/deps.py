"""Request dependencies: the service state, the API key check, and text limits from settings.

The dependencies are `async def` although they never await: FastAPI runs a plain `def`
dependency in its thread pool, a thread hop per request that costs more than the check itself."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request

from app.errors import ApiError
from app.state import ServiceState
from models.text import normalize_text


async def get_state(request: Request) -> ServiceState:
    return request.app.state.service


State = Annotated[ServiceState, Depends(get_state)]

_BEARER = {"WWW-Authenticate": "Bearer"}


def _check_key(request: Request, state: ServiceState, what: str) -> None:
    configured = state.settings.api_key
    if configured is None or not configured.get_secret_value():
        raise ApiError(
            403,
            "writes_disabled" if what == "writes" else "reads_disabled",
            f"{what} are disabled because the server has no API key; set FAQSEARCH_API_KEY on the "
            "server and send it as 'Authorization: Bearer <key>'",
        )
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        raise ApiError(
            401,
            "unauthorized",
            f"{what} need the header 'Authorization: Bearer <FAQSEARCH_API_KEY>'",
            _BEARER,
        )
    # Constant-time comparison of bytes: timing must not reveal how much of a guess was right.
    if not hmac.compare_digest(given.strip().encode(), configured.get_secret_value().encode()):
        raise ApiError(
            401, "unauthorized", "the API key is wrong; send the server's FAQSEARCH_API_KEY", _BEARER
        )


async def require_writer(request: Request, state: State) -> None:
    _check_key(request, state, "writes")


async def require_reader(request: Request, state: State) -> None:
    if state.settings.protect_reads:
        _check_key(request, state, "reads")


def checked_text(state: ServiceState, text: str, field: str) -> str:
    """NFC-normalised text, refused when empty or longer than FAQSEARCH_MAX_QUERY_CHARS."""
    normalised = normalize_text(text)
    if not normalised:
        raise ApiError(
            422, "empty_text", f"{field} is empty (or only spaces/control characters); send some text"
        )
    limit = state.settings.max_query_chars
    if len(normalised) > limit:
        raise ApiError(
            422,
            "text_too_long",
            f"{field} has {len(normalised)} characters, more than the limit of {limit}; shorten it "
            "(the server's limit is FAQSEARCH_MAX_QUERY_CHARS)",
        )
    return normalised


Writer = Depends(require_writer)
Reader = Depends(require_reader)
