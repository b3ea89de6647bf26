"""`faqsearch serve`: load the model first (so a bad model setting is a one-line error), then run
uvicorn with the app."""

from __future__ import annotations

import sys

from faqsearch.settings import Settings


def run_server(settings: Settings, *, host: str, port: int) -> None:
    import uvicorn

    from app.main import create_app, load_encoder

    try:
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
