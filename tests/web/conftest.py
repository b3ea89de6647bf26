"""Fixtures of the browser tests: a real uvicorn server (the sample index, or an empty data dir)
and Debian's headless chromium driven by Playwright. Playwright never downloads a browser here:
the machines are offline, so the system's /usr/bin/chromium is the browser, and its absence is a
failure that says how to install it, not a skip."""

from __future__ import annotations

import dataclasses
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from live_server import start_server

# Alternates of one sample entry, written to the store before its server starts (the index takes
# them in as it loads), so that a hit can match an alternate.
ALTERNATES = {"site-004": ("비번 변경은 어디서 하나요?", "암호를 새로 바꾸는 메뉴가 어디예요?")}
CHROMIUM = Path(os.environ.get("FAQSEARCH_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def _serve(data_dir: Path, real_encoder) -> Iterator[str]:
    from app.main import create_app
    from faqsearch.settings import Settings

    settings = Settings(data_dir=data_dir, model=real_encoder.name)
    server, thread, url = start_server(create_app(settings, encoder=real_encoder))
    yield url
    server.should_exit = True  # type: ignore[attr-defined]
    thread.join(timeout=30)


@pytest.fixture(scope="module")
def page_url(tmp_path_factory, sample_index, real_encoder) -> Iterator[str]:
    """A server over a copy of the sample index (server default mode: hybrid), with `ALTERNATES`."""
    from indexing.store import FaqStore

    data_dir = tmp_path_factory.mktemp("web") / "data"
    shutil.copytree(sample_index, data_dir)
    with FaqStore.open(data_dir) as store:
        for faq_id, alternates in ALTERNATES.items():
            entry = store.get(faq_id)
            assert entry is not None
            store.upsert(dataclasses.replace(entry, alternates=alternates))
    yield from _serve(data_dir, real_encoder)


@pytest.fixture(scope="session")
def page_alternates() -> dict[str, tuple[str, ...]]:
    """The alternates `page_url`'s server has, by entry id."""
    return ALTERNATES


@pytest.fixture(scope="module")
def empty_url(tmp_path_factory, real_encoder) -> Iterator[str]:
    """A server over an empty data dir: no index, so searches answer 503 not_ready."""
    yield from _serve(tmp_path_factory.mktemp("web-empty") / "data", real_encoder)


# Module scope, not session: while Playwright's sync API is open the main thread counts as running
# an event loop, and later tests that call asyncio.run() (tests/service/test_batching.py) fail.
@pytest.fixture(scope="module")
def browser():
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"no chromium at {CHROMIUM}: install Debian's chromium "
            "(`sudo apt-get install -y chromium`; .ci/run does this) - the browser tests need it"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # --no-sandbox: CI runs as root, where Chromium refuses to start with its sandbox.
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="ko-KR", viewport={"width": 1000, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    context.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """test-artifacts/ at the repo root (gitignored): screenshots CI keeps."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
