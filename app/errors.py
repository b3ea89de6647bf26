"""Every error the API returns has one shape: {"error": {"code", "message"}}, the message saying
what to change. Handlers here turn validation errors, unknown routes and our own `ApiError` into
that shape; nothing a client sends may produce a 500.

The OpenAI-compatible routes (`OPENAI_PATHS`) answer in OpenAI's shape instead, which the clients
written for it parse: {"error": {"message", "type", "param", "code"}}, type `invalid_request_error`
for a 4xx and `server_error` for a 5xx, the same codes and messages; and a request they cannot
validate is a 400 there, as OpenAI answers it, not a 422."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from models.errors import FaqsearchError

logger = logging.getLogger(__name__)


class ApiError(FaqsearchError):
    """An error with an HTTP status, a stable machine-readable code and a message for people."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers


OPENAI_PATHS = ("/v1/embeddings", "/v1/models")


def openai_shaped(path: str | None) -> bool:
    """True for a path of the OpenAI-compatible routes, whose errors are in OpenAI's shape."""
    return path is not None and path.rstrip("/") in OPENAI_PATHS


def error_body(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def openai_error_body(status: int, code: str, message: str) -> dict[str, Any]:
    kind = "server_error" if status >= 500 else "invalid_request_error"
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


def error_response(
    status: int,
    code: str,
    message: str,
    headers: dict[str, str] | None = None,
    *,
    path: str | None = None,
) -> JSONResponse:
    """The error as a response; `path`: the request's, so an OpenAI-compatible route answers in
    OpenAI's shape (`openai_shaped`)."""
    body = openai_error_body(status, code, message) if openai_shaped(path) else error_body(code, message)
    return JSONResponse(body, status_code=status, headers=headers)


_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
}


def _location(loc: tuple[Any, ...]) -> str:
    """('body', 'queries', 3) -> 'queries[3]'; the leading 'body' says nothing to a client."""
    parts = [p for p in loc if p != "body"]
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "body"


_SEND_JSON = "encoded as UTF-8 with Content-Type: application/json"
# FastAPI answers a body it cannot decode or parse (not UTF-8, nested too deep for the parser)
# with a 400 HTTPException carrying this detail and the parser's exception as its cause.
_FASTAPI_PARSE_ERROR = "There was an error parsing the body"


def body_parse_message(cause: BaseException | None) -> str:
    """What to send instead of a body that FastAPI could not decode or parse as JSON."""
    if isinstance(cause, RecursionError):
        return (
            "the request body is JSON nested too deeply to parse: send a JSON object as the API "
            f"describes (see /docs), {_SEND_JSON}"
        )
    return f"the request body is not valid UTF-8 JSON: send a JSON object {_SEND_JSON}"


def _not_read_as_json(errors: list[dict[str, Any]]) -> bool:
    """FastAPI reads a body as JSON only with a JSON Content-Type; otherwise the model is handed
    the raw bytes, and the one error says that bytes are no object."""
    return any(tuple(e.get("loc", ())) == ("body",) and isinstance(e.get("input"), bytes) for e in errors)


def content_type_message(content_type: str | None) -> str:
    sent = f"Content-Type: {content_type}" if content_type else "no Content-Type header"
    return (
        f"the request body was sent with {sent}, so it was not read as JSON: "
        "send it with the header Content-Type: application/json"
    )


def validation_message(errors: list[dict[str, Any]]) -> tuple[str, str]:
    """(code, message) for pydantic/FastAPI validation errors, all problems in one line."""
    if any(e.get("type") == "json_invalid" for e in errors):
        detail = next(e for e in errors if e.get("type") == "json_invalid").get("ctx", {}).get("error", "")
        return "invalid_json", f"the request body is not valid JSON ({detail}); send a JSON object"
    problems = []
    for error in errors[:10]:
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        if error.get("type") == "string_unicode":  # a lone surrogate, e.g. "\ud800" in the JSON
            message = "not valid Unicode text (it has a lone surrogate); send the text as UTF-8"
        elif error.get("type") == "extra_forbidden":  # e.g. an "id" in PUT /v1/faqs/{id}'s body
            message = "not a field of this request; remove it (the fields are listed at /docs)"
        problems.append(f"{_location(tuple(error.get('loc', ())))}: {message}")
    more = f" (and {len(errors) - 10} more)" if len(errors) > 10 else ""
    return "invalid_request", "; ".join(problems) + more


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message, exc.headers, path=request.url.path)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = list(exc.errors())
        path = request.url.path
        invalid = 400 if openai_shaped(path) else 422  # OpenAI answers a request it cannot read with 400
        if _not_read_as_json(errors):
            content_type = request.headers.get("content-type")
            return error_response(invalid, "invalid_request", content_type_message(content_type), path=path)
        code, message = validation_message(errors)
        return error_response(400 if code == "invalid_json" else invalid, code, message, path=path)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _STATUS_CODES.get(exc.status_code, "error")
        message = str(exc.detail)
        path = request.url.path
        if exc.status_code == 400 and message == _FASTAPI_PARSE_ERROR:
            return error_response(400, "invalid_json", body_parse_message(exc.__cause__), path=path)
        if exc.status_code == 404 and message == "Not Found":
            message = f"no such endpoint: {request.method} {request.url.path}; see /docs for the API"
        elif exc.status_code == 405:
            message = f"{request.method} is not allowed on {request.url.path}; see /docs for the API"
        return error_response(exc.status_code, code, message, getattr(exc, "headers", None), path=path)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # A bug, not bad input: log the traceback, tell the client without leaking internals.
        logger.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(
            500,
            "internal_error",
            "the server failed to handle this request; see its log",
            path=request.url.path,
        )
