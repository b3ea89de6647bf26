"""Prometheus metrics, one registry per application (tests start several apps in one process)."""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)


class ServiceMetrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "faqsearch_requests",
            "HTTP requests by route template, method and status.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "faqsearch_request_seconds",
            "HTTP request latency by route template.",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.batch_size = Histogram(
            "faqsearch_encoder_batch_queries",
            "Sentences per shared forward pass of searches, rank and embed (micro-batching).",
            buckets=BATCH_BUCKETS,
            registry=self.registry,
        )
        self.queue_wait = Histogram(
            "faqsearch_queue_wait_seconds",
            "Time a search, rank or embed request waited before its first forward pass started.",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.index_entries = Gauge(
            "faqsearch_index_entries", "Entries in the served index.", registry=self.registry
        )
        self.index_version = Gauge(
            "faqsearch_index_version",
            "Number of the served snapshot (v000012 -> 12).",
            registry=self.registry,
        )

        self.query_log_rows = Counter(
            "faqsearch_query_log_rows",
            "Searches written to the query log.",
            registry=self.registry,
        )
        self.query_log_dropped = Counter(
            "faqsearch_query_log_dropped",
            "Searches the query log could not write (queue full, store unwritable); no search failed.",
            registry=self.registry,
        )
        self._query_log_seen = (0, 0)

    def set_query_log(self, written: int, dropped: int) -> None:
        """The query log's own counts, as counters (they only grow)."""
        seen_written, seen_dropped = self._query_log_seen
        self.query_log_rows.inc(max(0, written - seen_written))
        self.query_log_dropped.inc(max(0, dropped - seen_dropped))
        self._query_log_seen = (max(written, seen_written), max(dropped, seen_dropped))

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(route, method, str(status)).inc()
        self.latency.labels(route, method).observe(seconds)

    def set_index(self, version: str, entries: int) -> None:
        self.index_entries.set(entries)
        digits = "".join(ch for ch in version if ch.isdigit())
        self.index_version.set(int(digits) if digits else 0)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class RequestMetricsMiddleware:
    """Pure ASGI middleware: counts and times each request under its route template
    (`/v1/faqs/{faq_id}`, not every id), so label cardinality stays bounded."""

    def __init__(self, app: Any, metrics: ServiceMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        recorded = False

        def record() -> None:
            nonlocal recorded
            if not recorded:
                recorded = True
                seconds = time.perf_counter() - started
                self.metrics.observe_request(_route_template(scope), scope["method"], status, seconds)

        async def send_and_record(message: dict) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                # Count before the last bytes leave: a client that reads /metrics right after its
                # response must find that response counted (a file response returns later).
                record()
            await send(message)

        try:
            await self.app(scope, receive, send_and_record)
        finally:
            record()


def _route_template(scope: dict) -> str:
    """The template of the route that answered, or "unmatched" when none did."""
    route = scope.get("route")
    if route is None and "endpoint" in scope:
        # FastAPI's router names the route only for its own API routes; /docs, /openapi.json and
        # /redoc are plain Starlette routes that leave just their endpoint in the scope.
        router = scope.get("router")
        routes = getattr(router, "routes", ())
        route = next((r for r in routes if getattr(r, "endpoint", None) is scope["endpoint"]), None)
    # path_format drops convertors: `/v1/faqs/{faq_id}` for `/v1/faqs/{faq_id:path}`.
    return getattr(route, "path_format", None) or getattr(route, "path", None) or "unmatched"
