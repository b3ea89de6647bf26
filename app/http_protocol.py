"""uvicorn's httptools protocol, answering a too-long URL with the API's JSON error shape.

httptools cannot parse a URL over 65535 bytes, and uvicorn then answers a plain-text 400 before
the app sees the request; `faqsearch serve` runs this subclass, which says 414 uri_too_long in
JSON instead. Every other malformed request keeps uvicorn's answer."""

from __future__ import annotations

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from app.errors import error_response

# httptools.parse_url keeps offsets in 16 bits.
MAX_URL_BYTES = 65535


def _url_too_long_response() -> bytes:
    response = error_response(
        414,
        "uri_too_long",
        f"the URL is longer than {MAX_URL_BYTES} bytes; send long text in a POST body "
        "(e.g. POST /v1/search), not in the URL",
    )
    head = [b"HTTP/1.1 414 URI Too Long"]
    head += [name + b": " + value for name, value in response.raw_headers]
    head.append(b"connection: close")
    return b"\r\n".join(head) + b"\r\n\r\n" + response.body


class JsonErrorHttpToolsProtocol(HttpToolsProtocol):
    def send_400_response(self, msg: str) -> None:
        if len(getattr(self, "url", b"")) <= MAX_URL_BYTES:
            super().send_400_response(msg)
            return
        self.transport.write(_url_too_long_response())
        self.transport.close()
