"""RebuildJobs: one at a time, progress, and a failure that leaves the served index alone."""

from __future__ import annotations

import threading

import pytest

from app.jobs import JobAlreadyRunningError, RebuildJobs
from models.errors import InvalidValueError


class FakeIndex:
    """What RebuildJobs reads of a LoadedIndex: its version, entry count and manifest."""

    def __init__(self, version: str) -> None:
        self.version = version
        self.count = 2
        self.manifest = {"row_count": 3}


def test_a_job_reports_progress_and_hands_over_the_built_index():
    served: list[FakeIndex] = []
    release = threading.Event()

    def build(progress):
        progress(5, 10)
        release.wait(10)
        progress(10, 10)
        return FakeIndex("v000009")

    jobs = RebuildJobs(build, served.append)
    job = jobs.start()
    with pytest.raises(JobAlreadyRunningError) as busy:
        jobs.start()
    assert busy.value.job_id == job.job_id
    release.set()
    jobs.join(10)
    record = jobs.get(job.job_id)
    assert (record.state, record.done, record.total, record.index_version, record.error) == (
        "succeeded",
        10,
        10,
        "v000009",
        None,
    )
    assert [i.version for i in served] == ["v000009"]
    assert record.finished_at is not None
    assert jobs.start().job_id != job.job_id  # the next one may start


def test_a_failed_build_serves_nothing_new_and_says_why():
    served: list[FakeIndex] = []

    def build(progress):
        progress(1, 3)
        raise InvalidValueError("the FAQ store is empty; import FAQs first")

    jobs = RebuildJobs(build, served.append)
    job = jobs.start()
    jobs.join(10)
    record = jobs.get(job.job_id)
    assert record.state == "failed"
    assert record.error == "the FAQ store is empty; import FAQs first"
    assert served == []


def test_a_build_the_disk_refuses_says_what_to_check_without_the_folder():
    def build(progress):
        raise PermissionError(1, "Operation not permitted", "/srv/faqsearch/data/snapshots/.tmp-v000002")

    jobs = RebuildJobs(build, lambda index: None)
    job = jobs.start()
    jobs.join(10)
    assert jobs.get(job.job_id).error == (
        "the disk refused the rebuild: Operation not permitted (.tmp-v000002). The served index is "
        "unchanged. Check that the data directory (FAQSEARCH_DATA_DIR) is writable and has free space, "
        "then start the rebuild again"
    )


def test_a_snapshot_error_shows_its_public_text_and_a_bug_only_its_kind(caplog):
    """Any reader may GET a job: a damaged snapshot's public text (version, file, fix) and, for a
    bug, its exception type and the job to look up in the log, never its text (paths, library
    internals)."""
    from indexing.snapshots import SnapshotError

    errors = [
        SnapshotError(
            "/srv/faqsearch/data/snapshots/v000002 cannot be read", "snapshot v000002 cannot be read"
        ),
        KeyError("/srv/faqsearch/data/snapshots/v000002/labels.json"),
    ]

    def build(progress):
        raise errors.pop(0)

    jobs = RebuildJobs(build, lambda index: None)
    first = jobs.start()
    jobs.join(10)
    second = jobs.start()
    jobs.join(10)
    assert jobs.get(first.job_id).error == "snapshot v000002 cannot be read"
    assert jobs.get(second.job_id).error == (
        "the rebuild failed with an internal error (KeyError); the served index is unchanged. The server "
        f"log has the details under job {second.job_id}"
    )
    assert "/srv/faqsearch/data/snapshots/v000002/labels.json" in caplog.text


def test_shutdown_stops_a_running_job_at_its_next_progress_step():
    served: list[FakeIndex] = []
    started = threading.Event()

    def build(progress):
        started.set()
        for step in range(1000):
            progress(step, 1000)
            threading.Event().wait(0.01)
        return FakeIndex("never")

    jobs = RebuildJobs(build, served.append)
    job = jobs.start()
    started.wait(10)
    jobs.shutdown()
    record = jobs.get(job.job_id)
    assert record.state == "failed" and "shut down" in record.error
    assert served == []


def test_a_failed_build_is_logged_as_an_error_with_its_job(caplog):
    import logging
    import re

    def build(progress):
        raise InvalidValueError("the FAQ store is empty; import FAQs first")

    caplog.set_level(logging.INFO, logger="app.jobs")
    jobs = RebuildJobs(build, lambda index: None)
    job = jobs.start()
    jobs.join(10)
    records = [r for r in caplog.records if r.name == "app.jobs"]
    assert (records[0].levelname, records[0].getMessage()) == (
        "INFO",
        f"index rebuild {job.job_id} started",
    )
    assert records[1].levelname == "ERROR" and len(records) == 2
    assert re.fullmatch(rf"index rebuild {job.job_id} failed after \d+\.\d s", records[1].getMessage())
    assert (
        records[1].exc_info is not None
        and str(records[1].exc_info[1]) == "the FAQ store is empty; import FAQs first"
    )
