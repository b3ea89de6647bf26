"""`faqsearch serve`: load the model and open the FAQ store first (so a bad model setting or a
damaged store is a one-line error, not a failed application startup), then run uvicorn with the app."""

from __future__ import annotations

import sys

from faqsearch.settings import Settings


def run_server(settings: Settings, *, host: str, port: int) -> None:
    import uvicorn

    from app.main import create_app, load_encoder
    from indexing.store import FaqStore

    try:
        FaqStore.open(settings.data_dir).close()
        encoder = load_encoder(settings)
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from exc
    # uvloop and httptools (dependencies) are picked up by uvicorn's "auto" loop and parser: less
    # CPU per request than the pure-Python defaults, CPU the encoder's forward passes can use.
    uvicorn.run(
        create_app(settings, encoder=encoder),
        host=host,
        port=port,
        log_level="info",
        access_log=settings.access_log,
    )
