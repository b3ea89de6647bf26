"""Request body size limit as pure ASGI middleware: 413 before a big body is read into memory."""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException

from app.errors import error_response


def _message(limit: int) -> str:
    return (
        f"the request body is larger than {limit} bytes; send fewer or shorter items "
        "(the server's limit is FAQSEARCH_MAX_BODY_BYTES)"
    )


class BodySizeLimit:
    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            # The app's own JSONResponse, so this 413 is byte for byte the chunked one below.
            response = error_response(413, "body_too_large", _message(self.max_bytes), path=scope.get("path"))
            await response(scope, receive, send)
            return
        received = 0

        async def counting_receive() -> dict:
            # Chunked bodies carry no content-length: count as they stream in. FastAPI re-raises
            # an HTTPException from here, and the app's handler turns it into the JSON error.
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise HTTPException(413, _message(self.max_bytes))
            return message

        await self.app(scope, counting_receive, send)
