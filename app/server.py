"""`faqsearch serve`: load the model and open the FAQ store first (so a bad model setting or a
damaged store is a one-line error, not a failed application startup), then run uvicorn with the app."""

from __future__ import annotations

import socket
import sys
from typing import Any

from faqsearch.settings import Settings
from models.errors import FaqsearchError

# What `faqsearch serve` gives uvicorn beyond host and port (tests start their servers with it too):
# the httptools parser that answers a too-long URL in JSON (app.http_protocol).
UVICORN_OPTIONS: dict[str, Any] = {"http": "app.http_protocol:JsonErrorHttpToolsProtocol"}


def check_port(host: str, port: int) -> None:
    """Exit 2 at once when host:port cannot be bound, before the model takes seconds to load.
    SO_REUSEADDR as uvicorn sets it: a port left in TIME_WAIT is free, one listened on is not."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
    except OSError as exc:
        print(
            f"error: cannot listen on {host}:{port} ({exc.strerror or exc}); another process may be "
            "using the port: stop it, or choose another port with --port or FAQSEARCH_PORT",
            file=sys.stderr,
        )
        raise SystemExit(2) from exc


def run_server(settings: Settings, *, host: str, port: int) -> None:
    import logging

    check_port(host, port)

    # The service's own lines (threads, encoder, snapshot follow) in uvicorn's format.
    logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(message)s")
    from models.threads import configure_once

    threads = configure_once(settings.threads)  # before torch loads
    import uvicorn

    from app.main import create_app, load_encoder
    from indexing.store import FaqStore

    try:
        FaqStore.open(settings.data_dir).close()
        encoder = load_encoder(settings)
    except (FaqsearchError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from exc
    startup = logging.getLogger("faqsearch")
    startup.info(encoder.describe())
    startup.info(threads.describe())
    # uvloop and httptools (dependencies) are picked up by uvicorn's "auto" loop and parser: less
    # CPU per request than the pure-Python defaults, CPU the encoder's forward passes can use.
    uvicorn.run(
        create_app(settings, encoder=encoder),
        host=host,
        port=port,
        log_level="info",
        access_log=settings.access_log,
        **UVICORN_OPTIONS,
    )
