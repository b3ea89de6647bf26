"""A real HTTP server for end-to-end tests: uvicorn on 127.0.0.1 (a free port) in a thread, over a
copy of an index built once per session from the bundled sample FAQ set with the real model."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from service_helpers import API_KEY, start_server


@dataclass
class Served:
    url: str
    data_dir: Path
    client: httpx.Client
    app: object

    @property
    def state(self):
        return self.app.state.service  # type: ignore[attr-defined]


@pytest.fixture
def serve(tmp_path, real_encoder, sample_index) -> Iterator[Callable[..., Served]]:
    """serve(**settings) -> a running server over a fresh copy of the sample index (or over
    `data_dir=...` when given). Servers stop when the test ends."""
    from app.main import create_app
    from faqsearch.settings import Settings

    running: list[tuple[object, threading.Thread, httpx.Client]] = []

    def _serve(*, copy_index: bool = True, **overrides) -> Served:
        if "data_dir" not in overrides:
            data_dir = tmp_path / f"data{len(running)}"
            if copy_index:
                shutil.copytree(sample_index, data_dir)
            overrides["data_dir"] = data_dir
        options = {"model": str(real_encoder.name), "api_key": API_KEY, **overrides}
        settings = Settings(**options)
        app = create_app(settings, encoder=real_encoder)
        server, thread, url = start_server(app)
        client = httpx.Client(base_url=url, timeout=120)
        running.append((server, thread, client))
        return Served(url, Path(settings.data_dir), client, app)

    yield _serve
    for server, thread, client in running:
        client.close()
        server.should_exit = True  # type: ignore[attr-defined]
        thread.join(timeout=30)


@pytest.fixture
def served(serve) -> Served:
    return serve()
