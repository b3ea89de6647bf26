"""A real HTTP server for end-to-end tests: uvicorn on 127.0.0.1 (a free port) in a thread, over a
copy of an index built once per session from the bundled sample FAQ set with the real model (or,
where a test is about plumbing, with the tiny random model: `serve_tiny`)."""

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


def _servers(folder: Path, encoder, index: Path) -> Iterator[Callable[..., Served]]:
    """serve(**settings) -> a running server with `encoder` over a fresh copy of `index` (or over
    `data_dir=...` when given), data under `folder`. Servers stop when the generator is closed."""
    from app.main import create_app
    from faqsearch.settings import Settings

    running: list[tuple[object, threading.Thread, httpx.Client]] = []

    def _serve(*, copy_index: bool = True, **overrides) -> Served:
        if "data_dir" not in overrides:
            data_dir = folder / f"data{len(running)}"
            if copy_index:
                shutil.copytree(index, data_dir)
            overrides["data_dir"] = data_dir
        options = {"model": str(encoder.name), "api_key": API_KEY, **overrides}
        settings = Settings(**options)
        app = create_app(settings, encoder=encoder)
        server, thread, url = start_server(app)
        client = httpx.Client(base_url=url, timeout=120)
        running.append((server, thread, client))
        return Served(url, Path(settings.data_dir), client, app)

    try:
        yield _serve
    finally:
        for server, thread, client in running:
            client.close()
            server.should_exit = True  # type: ignore[attr-defined]
            thread.join(timeout=30)


@pytest.fixture
def serve(tmp_path, real_encoder, sample_index) -> Iterator[Callable[..., Served]]:
    """serve(**settings) -> a running server (the real model) over a fresh copy of the sample index
    (or over `data_dir=...` when given). Servers stop when the test ends."""
    yield from _servers(tmp_path, real_encoder, sample_index)


@pytest.fixture
def serve_tiny(tmp_path, tiny_encoder, tiny_sample_index) -> Iterator[Callable[..., Served]]:
    """`serve` with the tiny random model over the sample FAQs indexed with it."""
    yield from _servers(tmp_path, tiny_encoder, tiny_sample_index)


@pytest.fixture(scope="module")
def module_serve_tiny(tmp_path_factory, tiny_encoder, tiny_sample_index) -> Iterator[Callable[..., Served]]:
    """`serve_tiny` for a whole module: servers stop when the module's tests are done."""
    yield from _servers(tmp_path_factory.mktemp("module-tiny"), tiny_encoder, tiny_sample_index)


@pytest.fixture
def served(serve) -> Served:
    return serve()


@pytest.fixture(scope="module")
def shared_served(tmp_path_factory, real_encoder, sample_index) -> Iterator[Served]:
    """One server (the real model, the sample index) for a module's tests that change nothing in
    it: bad requests, reads."""
    servers = _servers(tmp_path_factory.mktemp("shared-served"), real_encoder, sample_index)
    yield next(servers)()
    servers.close()
