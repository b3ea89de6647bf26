"""Snapshots: versioning, atomic switching, pruning, rollback, broken folders, SIGKILL, threads."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from indexing.snapshots import MANIFEST_FILE, SnapshotError, SnapshotInfo, Snapshots

REPO_ROOT = Path(__file__).resolve().parents[2]
Q_REFUND = "환불은 언제 되나요?"


def make(snaps: Snapshots, marker: str, **manifest: object) -> str:
    """One snapshot with a file `data.txt` holding `marker`; returns the new current version."""
    with snaps.create({"marker": marker, **manifest}) as folder:
        (folder / "data.txt").write_text(marker, encoding="utf-8")
    current = snaps.current()
    assert current is not None
    return current


def tmp_folders(data_dir: Path) -> list[Path]:
    return sorted((data_dir / "snapshots").glob(".tmp-*"))


def test_no_snapshot_yet_reads_as_empty_and_creates_nothing(tmp_path: Path) -> None:
    snaps = Snapshots(tmp_path / "data")
    assert snaps.current() is None
    assert snaps.current_info() is None
    assert snaps.list() == []
    assert snaps.cleanup() == []
    with pytest.raises(SnapshotError, match="faqsearch index build"):
        snaps.info()
    with pytest.raises(SnapshotError, match="faqsearch index build"):
        snaps.rollback()
    assert not (tmp_path / "data").exists()


def test_first_create_makes_v000001_current_with_files_and_manifest(tmp_path: Path) -> None:
    data_dir = tmp_path / "not" / "yet" / "there"
    snaps = Snapshots(data_dir)
    before = datetime.now(UTC)
    with snaps.create({"model": "me5-small-koen", "count": 3, "question": Q_REFUND}) as folder:
        assert folder.parent == data_dir / "snapshots"
        assert folder.name.startswith(".tmp-")
        assert snaps.current() is None  # nothing is visible while the build runs
        (folder / "vectors.bin").write_bytes(b"\x00\x01")
        (folder / "sub").mkdir()
        (folder / "sub" / "ids.json").write_text("[]", encoding="utf-8")

    assert snaps.current() == "v000001"
    assert (data_dir / "snapshots" / "CURRENT").read_text(encoding="utf-8") == "v000001\n"
    snapshot = data_dir / "snapshots" / "v000001"
    assert (snapshot / "vectors.bin").read_bytes() == b"\x00\x01"
    assert (snapshot / "sub" / "ids.json").read_text(encoding="utf-8") == "[]"
    assert tmp_folders(data_dir) == []

    raw = (snapshot / MANIFEST_FILE).read_text(encoding="utf-8")
    assert Q_REFUND in raw  # ensure_ascii=False
    manifest = json.loads(raw)
    assert manifest["model"] == "me5-small-koen"
    assert manifest["count"] == 3
    assert manifest["question"] == Q_REFUND
    assert manifest["version"] == "v000001"
    created = datetime.fromisoformat(manifest["created_at"])
    assert created.utcoffset() == timedelta(0)
    assert before <= created <= datetime.now(UTC)
    assert raw == json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True) + "\n"

    info = snaps.current_info()
    assert info == SnapshotInfo("v000001", snapshot, manifest, is_current=True)
    assert snaps.info() == info
    assert snaps.info("v000001") == info


def test_second_create_switches_to_v000002_and_keeps_v000001(tmp_path: Path) -> None:
    snaps = Snapshots(tmp_path)
    assert make(snaps, "one") == "v000001"
    assert make(snaps, "two") == "v000002"
    listed = snaps.list()
    assert [(s.version, s.is_current, s.manifest["marker"]) for s in listed] == [
        ("v000001", False, "one"),
        ("v000002", True, "two"),
    ]
    assert (listed[0].path / "data.txt").read_text(encoding="utf-8") == "one"
    assert snaps.info("v000001").is_current is False


def test_keep_prunes_the_oldest_complete_snapshots(tmp_path: Path) -> None:
    snaps = Snapshots(tmp_path, keep=2)
    for marker in ("one", "two", "three"):
        make(snaps, marker)
    assert [s.version for s in snaps.list()] == ["v000002", "v000003"]
    assert not (tmp_path / "snapshots" / "v000001").exists()
    assert tmp_folders(tmp_path) == []
    assert make(snaps, "four") == "v000004"  # numbering goes on after pruning
    assert [s.version for s in snaps.list()] == ["v000003", "v000004"]


def test_keep_must_be_at_least_one(tmp_path: Path) -> None:
    for bad in (0, -1, True, 1.5):
        with pytest.raises(ValueError, match="keep"):
            Snapshots(tmp_path, keep=bad)  # type: ignore[arg-type]


def test_exception_inside_create_leaves_no_trace(tmp_path: Path) -> None:
    snaps = Snapshots(tmp_path)
    make(snaps, "one")
    with pytest.raises(RuntimeError, match="encoder crashed"), snaps.create({"marker": "two"}) as folder:
        (folder / "data.txt").write_text("half", encoding="utf-8")
        raise RuntimeError("encoder crashed")
    assert snaps.current() == "v000001"
    assert [s.version for s in snaps.list()] == ["v000001"]
    assert tmp_folders(tmp_path) == []
    assert make(snaps, "three") == "v000002"


def test_manifest_must_be_json_and_must_not_set_reserved_keys(tmp_path: Path) -> None:
    snaps = Snapshots(tmp_path)
    with pytest.raises(SnapshotError, match="'version'"), snaps.create({"version": "mine"}):
        pass
    with pytest.raises(SnapshotError, match="JSON"), snaps.create({"when": datetime.now(UTC)}):
        pass
    assert snaps.current() is None
    assert tmp_folders(tmp_path) == []


def test_keys_added_to_the_manifest_inside_the_block_are_written(tmp_path: Path) -> None:
    snaps = Snapshots(tmp_path)
    manifest: dict = {"model": "m"}
    with snaps.create(manifest):
        manifest["count"] = 42
    assert snaps.info().manifest["count"] == 42
    assert "version" not in manifest  # the caller's dict is not modified


def test_rollback_to_previous_and_to_explicit_version(tmp_path: Path) -> None:
    snaps = Snapshots(tmp_path)
    for marker in ("one", "two", "three"):
        make(snaps, marker)

    back = snaps.rollback()
    assert (back.version, back.is_current, back.manifest["marker"]) == ("v000002", True, "two")
    assert snaps.current() == "v000002"
    assert snaps.rollback().version == "v000001"

    again = snaps.rollback("v000003")
    assert (again.version, again.manifest["marker"]) == ("v000003", "three")
    assert snaps.current() == "v000003"
    assert [s.is_current for s in snaps.list()] == [False, False, True]

    snaps.rollback("v000001")
    assert make(snaps, "four") == "v000004"  # after a rollback, numbers still go up


def test_rollback_with_nothing_older_fails(tmp_path: Path) -> None:
    snaps = Snapshots(tmp_path)
    make(snaps, "one")
    with pytest.raises(SnapshotError, match="no complete snapshot older than v000001"):
        snaps.rollback()
    assert snaps.current() == "v000001"


def test_rollback_skips_broken_older_snapshots(tmp_path: Path) -> None:
    snaps = Snapshots(tmp_path)
    for marker in ("one", "two", "three"):
        make(snaps, marker)
    (tmp_path / "snapshots" / "v000002" / MANIFEST_FILE).unlink()
    assert snaps.rollback().version == "v000001"
    with pytest.raises(SnapshotError, match=r"no manifest\.json"):
        snaps.rollback("v000002")
    assert snaps.current() == "v000001"


def test_info_of_unknown_version_lists_the_existing_ones(tmp_path: Path) -> None:
    snaps = Snapshots(tmp_path)
    make(snaps, "one")
    make(snaps, "two")
    for unknown in ("v000009", "latest", "../snapshots/v000001"):
        with pytest.raises(SnapshotError, match="v000001, v000002") as caught:
            snaps.info(unknown)
        assert repr(unknown) in str(caught.value)
    with pytest.raises(SnapshotError, match="v000001, v000002"):
        snaps.rollback("v000009")


def test_current_pointing_to_a_deleted_folder_says_to_roll_back_or_rebuild(tmp_path: Path) -> None:
    snaps = Snapshots(tmp_path)
    make(snaps, "one")
    make(snaps, "two")
    deleted = tmp_path / "snapshots" / "v000002"
    for file in deleted.iterdir():
        file.unlink()
    deleted.rmdir()

    assert snaps.current() == "v000002"
    for call in (snaps.current_info, snaps.info):
        with pytest.raises(SnapshotError) as caught:
            call()
        message = str(caught.value)
        assert str(deleted) in message
        assert "rollback" in message and "rebuild" in message
    assert [s.version for s in snaps.list()] == ["v000001"]

    assert snaps.rollback().version == "v000001"  # the way out the message names
    assert snaps.info().manifest["marker"] == "one"


def test_broken_folders_are_skipped_by_list_and_reported_by_info(tmp_path: Path) -> None:
    snaps = Snapshots(tmp_path)
    make(snaps, "one")
    root = tmp_path / "snapshots"
    (root / "v000005").mkdir()  # no manifest
    (root / "v000006").mkdir()
    (root / "v000006" / MANIFEST_FILE).write_text("{not json", encoding="utf-8")
    (root / "v000007").mkdir()
    (root / "v000007" / MANIFEST_FILE).write_text("[1, 2]", encoding="utf-8")
    (root / "v8").mkdir()  # not a version name

    assert [s.version for s in snaps.list()] == ["v000001"]
    with pytest.raises(SnapshotError, match=r"v000005 has no manifest\.json"):
        snaps.info("v000005")
    with pytest.raises(SnapshotError, match="v000006 is broken"):
        snaps.info("v000006")
    with pytest.raises(SnapshotError, match="not an object"):
        snaps.info("v000007")
    # A new version never reuses the name of a folder that is there, broken or not.
    assert make(snaps, "two") == "v000008"


def test_garbled_current_file_is_reported_and_a_rebuild_fixes_it(tmp_path: Path) -> None:
    snaps = Snapshots(tmp_path)
    make(snaps, "one")
    (tmp_path / "snapshots" / "CURRENT").write_text("garbage\n", encoding="utf-8")
    with pytest.raises(SnapshotError, match="rebuild"):
        snaps.current()
    assert [s.is_current for s in snaps.list()] == [False]
    assert make(snaps, "two") == "v000002"


def test_cleanup_leaves_a_running_build_alone(tmp_path: Path) -> None:
    snaps = Snapshots(tmp_path)
    with snaps.create({"marker": "one"}) as folder:
        (folder / "data.txt").write_text("one", encoding="utf-8")
        assert snaps.cleanup() == []
        assert folder.is_dir()
    assert snaps.current() == "v000001"


def wait_for_line(proc: subprocess.Popen[str], expected: str, timeout_s: float) -> None:
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            break
        line = proc.stdout.readline()
        if line.strip() == expected:
            return
        if not line:  # the child exited
            break
    proc.kill()
    _, stderr = proc.communicate(timeout=10)
    pytest.fail(f"the child never printed {expected!r}; its stderr:\n{stderr}")


def test_sigkill_during_create_keeps_the_previous_snapshot(tmp_path: Path) -> None:
    snaps = Snapshots(tmp_path)
    make(snaps, "one")
    code = (
        "import sys, time\n"
        "from indexing.snapshots import Snapshots\n"
        "with Snapshots(sys.argv[1]).create({'marker': 'killed'}) as folder:\n"
        "    (folder / 'data.txt').write_text('half', encoding='utf-8')\n"
        "    print('ready', flush=True)\n"
        "    time.sleep(60)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(tmp_path)],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for_line(proc, "ready", timeout_s=30)
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=10) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()  # type: ignore[union-attr]
        proc.stderr.close()  # type: ignore[union-attr]

    assert snaps.current() == "v000001"
    assert [s.version for s in snaps.list()] == ["v000001"]
    assert snaps.info().manifest["marker"] == "one"
    leftovers = tmp_folders(tmp_path)
    assert len(leftovers) == 1
    assert (leftovers[0] / "data.txt").read_text(encoding="utf-8") == "half"

    assert snaps.cleanup() == leftovers
    assert tmp_folders(tmp_path) == []
    assert make(snaps, "two") == "v000002"
    assert [s.version for s in snaps.list()] == ["v000001", "v000002"]


def test_two_threads_creating_at_once_get_different_versions(tmp_path: Path) -> None:
    snaps = Snapshots(tmp_path / "data", keep=5)
    inside = threading.Barrier(2, timeout=10)
    errors: list[BaseException] = []

    def build(marker: str) -> None:
        try:
            with snaps.create({"marker": marker}) as folder:
                (folder / "data.txt").write_text(marker, encoding="utf-8")
                inside.wait()  # both builds are open at the same time, then both commit
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=build, args=(marker,)) for marker in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []

    listed = snaps.list()
    assert [s.version for s in listed] == ["v000001", "v000002"]
    assert sorted(s.manifest["marker"] for s in listed) == ["a", "b"]
    for s in listed:
        assert s.manifest["version"] == s.version
        assert (s.path / "data.txt").read_text(encoding="utf-8") == s.manifest["marker"]
    assert snaps.current() == "v000002"
    assert tmp_folders(tmp_path / "data") == []
