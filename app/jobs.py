"""Index rebuild jobs: one at a time, in a background thread, swapped in atomically when done.

Searches keep being answered from the served index while a job encodes; the new snapshot is
written by `indexing.build.build_snapshot` (temporary folder, then an atomic switch), loaded, and
handed to `on_built`, which swaps it in. A failed job records its error and changes nothing that
is served.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from indexing.loaded_index import LoadedIndex
from models.errors import FaqsearchError, public_message

logger = logging.getLogger(__name__)

KEPT_JOBS = 100  # finished jobs remembered for GET /v1/index/jobs/{id}


def _client_error(exc: Exception, job_id: str) -> str:
    """What GET /v1/index/jobs/{id} says of a failed build, to any reader: the error's public text,
    a disk error's reason and file name, never a folder of the server; the log has the rest."""
    if isinstance(exc, OSError):  # the disk said no: say what to check before trying again
        reason = exc.strerror or type(exc).__name__
        where = f" ({Path(str(exc.filename)).name})" if exc.filename else ""
        return (
            f"the disk refused the rebuild: {reason}{where}. The served index is unchanged. Check that the "
            "data directory (FAQSEARCH_DATA_DIR) is writable and has free space, then start the rebuild again"
        )
    if isinstance(exc, FaqsearchError):
        return public_message(exc)
    return (
        f"the rebuild failed with an internal error ({type(exc).__name__}); the served index is unchanged. "
        f"The server log has the details under job {job_id}"
    )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class JobRecord:
    job_id: str
    state: str = "queued"  # queued -> running -> succeeded | failed
    done: int = 0
    total: int = 0
    error: str | None = None
    index_version: str | None = None
    created_at: str = field(default_factory=_now)
    finished_at: str | None = None


class JobCancelledError(FaqsearchError):
    """The service is shutting down; the job stopped before switching snapshots."""


class JobAlreadyRunningError(FaqsearchError):
    def __init__(self, job_id: str) -> None:
        super().__init__(job_id)
        self.job_id = job_id


# build(progress) -> the new index, loaded; on_built(index) starts serving it.
BuildFn = Callable[[Callable[[int, int], None]], LoadedIndex]


class RebuildJobs:
    def __init__(self, build: BuildFn, on_built: Callable[[LoadedIndex], None]) -> None:
        self._build = build
        self._on_built = on_built
        self._jobs: OrderedDict[str, JobRecord] = OrderedDict()
        self._lock = threading.Lock()
        self._running: JobRecord | None = None
        self._numbers = itertools.count(1)
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()

    def start(self) -> JobRecord:
        """Start a rebuild; raises JobAlreadyRunningError naming the running job."""
        with self._lock:
            if self._running is not None:
                raise JobAlreadyRunningError(self._running.job_id)
            job = JobRecord(
                job_id=f"rebuild-{_now().replace(':', '').replace('-', '')[:15]}-{next(self._numbers)}"
            )
            self._jobs[job.job_id] = job
            while len(self._jobs) > KEPT_JOBS:
                self._jobs.popitem(last=False)
            self._running = job
        thread = threading.Thread(target=self._run, args=(job,), name=job.job_id, daemon=True)
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()
        return job

    @property
    def busy(self) -> bool:
        """A rebuild is running (it will switch CURRENT and swap its index in itself)."""
        with self._lock:
            return self._running is not None

    def get(self, job_id: str) -> JobRecord | None:
        with self._lock:
            return self._jobs.get(job_id)

    def join(self, timeout: float | None = None) -> None:
        """Wait for running jobs (tests)."""
        for thread in list(self._threads):
            thread.join(timeout)

    def shutdown(self) -> None:
        """Stop a running job at its next progress step and wait for it: a build thread left
        running inside torch when the process exits would abort the interpreter."""
        self._stopping.set()
        self.join()

    def _run(self, job: JobRecord) -> None:
        job.state = "running"
        # INFO lines an operator can follow a rebuild by (indexing.build logs the entry count).
        logger.info("index rebuild %s started", job.job_id)
        started = time.perf_counter()

        def progress(done: int, total: int) -> None:
            if self._stopping.is_set():
                raise JobCancelledError("the service shut down during the rebuild; start it again")
            job.done, job.total = done, total

        try:
            index = self._build(progress)
            self._on_built(index)
            job.index_version = index.version
            job.state = "succeeded"
            logger.info(
                "index rebuild %s succeeded: %s, %d entries, %d rows, %.1f s",
                job.job_id,
                index.version,
                index.count,
                index.manifest.get("row_count", 0),
                time.perf_counter() - started,
            )
        except JobCancelledError as exc:
            logger.warning("index rebuild %s stopped: %s", job.job_id, exc)
            job.error = str(exc)
            job.state = "failed"
        except Exception as exc:  # recorded for the client; the served index is untouched
            logger.exception(
                "index rebuild %s failed after %.1f s", job.job_id, time.perf_counter() - started
            )
            job.error = _client_error(exc, job.job_id)
            job.state = "failed"
        finally:
            job.finished_at = _now()
            with self._lock:
                self._running = None
