"""`faqsearch serve`: load the model and open the FAQ store first (so a bad model setting or a
damaged store is a one-line error, not a failed application startup), then run uvicorn with the app."""

from __future__ import annotations

import sys

from faqsearch.settings import Settings
from models.errors import FaqsearchError


def run_server(settings: Settings, *, host: str, port: int) -> None:
    import logging

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
    )
