"""The service's catch sites catch faqsearch's own errors only (`models.errors.FaqsearchError`):
ours still give their 4xx / "not ready" / exit 2, while a plain ValueError (a numpy or torch bug)
goes through, to be logged as a 500 or a traceback instead of posing as the client's mistake."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from app import service
from app.errors import ApiError
from app.state import ServiceState
from indexing.loaded_index import IndexMismatchError
from indexing.searcher import NoIndexError
from indexing.snapshots import CURRENT_FILE, SnapshotError, Snapshots
from models.domain_words import DomainWordsError
from models.encoder import ModelLoadError
from models.errors import FaqsearchError, PoolingError


def _bug(*args, **kwargs):
    raise ValueError("operands could not be broadcast together")  # what numpy says on a bug


def _state(tmp_path) -> ServiceState:
    """A ServiceState with no encoder, store or threads: enough for its loading catch sites."""
    state = ServiceState.__new__(ServiceState)
    state.settings = SimpleNamespace(data_dir=tmp_path)  # type: ignore[assignment]
    state.searcher = None
    state.not_ready_reason = "the service is starting"
    state._refused_snapshot = None
    state.snapshot_problem = None
    return state


def test_every_project_error_has_the_one_base():
    from app.jobs import JobAlreadyRunningError, JobCancelledError
    from app.state import NotReadyError
    from eval.testset import TestsetError
    from faqsearch.settings import SettingsError
    from indexing.faq_import import FaqImportError
    from indexing.snapshots import DamagedSnapshotError
    from indexing.store import InvalidFaqEntryError, StoreBusyError, StoreOpenError
    from models.bm25 import Bm25FormatError

    errors = [
        NoIndexError, FaqImportError, IndexMismatchError, StoreOpenError, InvalidFaqEntryError,
        SnapshotError, DamagedSnapshotError, Bm25FormatError, ModelLoadError, DomainWordsError,
        TestsetError, SettingsError, StoreBusyError, JobCancelledError, JobAlreadyRunningError, NotReadyError, ApiError,
    ]  # fmt: skip
    assert [e for e in errors if not issubclass(e, FaqsearchError)] == []


def test_pooling_of_a_request(monkeypatch):
    state = SimpleNamespace(settings=SimpleNamespace(pooling="mean"))
    with pytest.raises(ApiError) as refused:
        service.pooling_spec(state, "median")  # type: ignore[arg-type]
    assert (refused.value.status, refused.value.code) == (422, "invalid_request")
    assert refused.value.message.startswith("pooling: unknown pooling 'median' (no method 'median')")
    monkeypatch.setattr(service, "parse_pooling", _bug)
    with pytest.raises(ValueError, match="broadcast") as bug:
        service.pooling_spec(state, "mean")  # type: ignore[arg-type]
    assert not isinstance(bug.value, FaqsearchError)


def _encoder_state(exc: Exception):
    async def encode(*args, **kwargs):  # the micro-batcher, whose pass raised `exc`
        raise exc

    return SimpleNamespace(batcher=SimpleNamespace(encode=encode))


def test_encoding_refusals():
    refusal = PoolingError("pooling 'mean@-9' reaches layer -9")
    with pytest.raises(ApiError) as refused:
        asyncio.run(service._encode(_encoder_state(refusal), ["질문"], None, None, "query"))  # type: ignore[arg-type]
    assert (refused.value.status, refused.value.message) == (
        422,
        "pooling: pooling 'mean@-9' reaches layer -9",
    )
    bug = ValueError("operands could not be broadcast")
    with pytest.raises(ValueError, match="broadcast"):
        asyncio.run(service._encode(_encoder_state(bug), ["질문"], None, None, "query"))  # type: ignore[arg-type]


def _rebuild_state(domain_words):
    return SimpleNamespace(
        store=SimpleNamespace(count=lambda: 1),
        settings=SimpleNamespace(domain_words=domain_words),
        jobs=SimpleNamespace(start=lambda: SimpleNamespace(job_id="j1")),
    )


def test_rebuild_checks_domain_words():
    def bad_line():
        raise DomainWordsError("words.txt:2: unknown tag 'NNQ'")

    with pytest.raises(ApiError) as refused:
        asyncio.run(service.start_rebuild(_rebuild_state(bad_line)))  # type: ignore[arg-type]
    assert (refused.value.status, refused.value.code) == (422, "invalid_domain_words")
    assert (
        refused.value.message
        == "words.txt:2: unknown tag 'NNQ'; fix the file, then rebuild again (nothing was built)"
    )
    with pytest.raises(ValueError, match="broadcast"):
        asyncio.run(service.start_rebuild(_rebuild_state(_bug)))  # type: ignore[arg-type]


def test_load_index_not_ready_for_our_errors_only(tmp_path, monkeypatch):
    state = _state(tmp_path)
    monkeypatch.setattr(
        state, "_open_current_or_fallback", lambda: (_ for _ in ()).throw(NoIndexError("none"))
    )
    state.load_index()
    assert state.not_ready_reason is not None and state.not_ready_reason.startswith(
        "no index in the data directory"
    )
    mismatch = IndexMismatchError("built with model a, configured: b")
    monkeypatch.setattr(state, "_open_current_or_fallback", lambda: (_ for _ in ()).throw(mismatch))
    state.load_index()
    assert state.not_ready_reason == (
        "built with model a, configured: b. A rebuild (POST /v1/index/rebuild) also fixes this."
    )
    state = _state(tmp_path)
    monkeypatch.setattr(state, "_open_current_or_fallback", _bug)
    with pytest.raises(ValueError, match="broadcast"):
        state.load_index()
    assert state.not_ready_reason == "the service is starting"  # not "not ready" for a bug's reason


def test_fallback_skips_damaged_snapshots_not_bugs(tmp_path, monkeypatch):
    state = _state(tmp_path)
    info = SimpleNamespace(version="v000001")
    monkeypatch.setattr(state, "_open", lambda version=None: (_ for _ in ()).throw(SnapshotError("damaged")))
    assert state._try_open(info) is None  # type: ignore[arg-type]
    monkeypatch.setattr(state, "_open", _bug)
    with pytest.raises(ValueError, match="broadcast"):
        state._try_open(info)  # type: ignore[arg-type]


def test_snapshot_following(tmp_path, monkeypatch):
    state = _state(tmp_path)
    state.jobs = SimpleNamespace(busy=False)  # type: ignore[assignment]
    garbled = SnapshotError("CURRENT holds 'garbage'")
    monkeypatch.setattr(state, "current_snapshot_version", lambda: (_ for _ in ()).throw(garbled))
    current_file = Snapshots(tmp_path).root / CURRENT_FILE
    current_file.parent.mkdir(parents=True)
    current_file.write_text("garbage", "utf-8")
    # A garbled CURRENT is damage: followed once (by its text), then not again until it changes.
    assert state.snapshot_switched_elsewhere() == "garbled: 'garbage'"
    state._refused_snapshot = "garbled: 'garbage'"
    assert state.snapshot_switched_elsewhere() is None
    current_file.unlink()
    assert state.snapshot_switched_elsewhere() == "garbled: '(No such file or directory)'"
    state._refused_snapshot = None
    monkeypatch.setattr(state, "current_snapshot_version", _bug)
    with pytest.raises(ValueError, match="broadcast"):
        state.snapshot_switched_elsewhere()
    monkeypatch.setattr(state, "current_snapshot_version", lambda: "v000002")
    monkeypatch.setattr(
        state, "_open_current_or_fallback", lambda: (_ for _ in ()).throw(IndexMismatchError("x"))
    )
    state.follow_current_snapshot()
    assert state._refused_snapshot == "v000002"
    state._refused_snapshot = None
    monkeypatch.setattr(state, "_open_current_or_fallback", _bug)
    with pytest.raises(ValueError, match="broadcast"):
        state.follow_current_snapshot()


def test_serve_exits_2_for_our_errors_only(tmp_path, monkeypatch, capsys):
    import app.main
    import models.threads
    from app.server import run_server
    from faqsearch.settings import Settings

    monkeypatch.setattr(models.threads, "configure_once", lambda spec: None)
    settings = Settings(data_dir=tmp_path)

    def bad_model(settings):
        raise ModelLoadError("model folder 'nope' does not exist or has no config.json")

    monkeypatch.setattr(app.main, "load_encoder", bad_model)
    with pytest.raises(SystemExit) as exited:
        run_server(settings, host="127.0.0.1", port=1)
    assert exited.value.code == 2
    assert capsys.readouterr().err == "error: model folder 'nope' does not exist or has no config.json\n"
    monkeypatch.setattr(app.main, "load_encoder", _bug)
    with pytest.raises(ValueError, match="broadcast"):
        run_server(settings, host="127.0.0.1", port=1)
