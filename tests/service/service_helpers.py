"""Constants and helpers the service tests share (importable: pytest puts this folder on sys.path)."""

from __future__ import annotations

import time

import httpx
from live_server import start_server  # noqa: F401  (re-exported for the service tests)

API_KEY = "test-key-0123456789"
AUTH = {"Authorization": f"Bearer {API_KEY}"}


def wait_for_job(client: httpx.Client, job_id: str, timeout: float = 300) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/v1/index/jobs/{job_id}").json()
        if job["state"] in ("succeeded", "failed"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish in {timeout}s")


def offline_searcher(served, encoder):
    """A Searcher over a served data dir with the server's fusion settings: what its searches
    must equal."""
    from indexing.searcher import Searcher

    settings = served.state.settings
    return Searcher.open(
        served.data_dir,
        encoder,
        rrf_k=settings.rrf_k,
        fusion=settings.hybrid_fusion,
        hybrid_weight=settings.hybrid_weight,
    )
