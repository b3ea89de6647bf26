"""A real uvicorn server in a thread for end-to-end tests (importable from every test folder:
pytest puts tests/ on sys.path for tests/conftest.py)."""

from __future__ import annotations

import threading
import time


def start_server(app, host: str = "127.0.0.1", **options: object) -> tuple[object, threading.Thread, str]:
    """uvicorn on `host` and a free port, in a daemon thread -> (server, thread, base url).
    `options`: more uvicorn.Config arguments (app.server.UVICORN_OPTIONS: as `faqsearch serve`)."""
    import uvicorn

    config = uvicorn.Config(app, host=host, port=0, log_level="warning", lifespan="on", **options)  # type: ignore[arg-type]
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, thread, f"http://{host}:{port}"
