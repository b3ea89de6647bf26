"""Snapshot integrity: the manifest records every file's size and sha256, `check_files` refuses a
changed, cut or missing file by name, `verify()` reports every folder, and pruning never deletes
the newest good snapshot before the current one."""

from __future__ import annotations

import hashlib
import json
import logging

import pytest
from damage import flip

from indexing.snapshots import (
    FILES_KEY,
    MANIFEST_FILE,
    DamagedSnapshotError,
    Snapshots,
    Verdict,
    check_files,
)

FIX = "Roll back to the previous snapshot (faqsearch index rollback) or rebuild the index (faqsearch index build)"
PUBLIC_FIX = "roll back (faqsearch index rollback) or rebuild the index (faqsearch index build)"


def make(snaps: Snapshots, marker: str) -> str:
    with snaps.create({"marker": marker}) as folder:
        (folder / "data.bin").write_bytes(marker.encode() * 4096)
        (folder / "sub").mkdir()
        (folder / "sub" / "ids.json").write_text("[1, 2]", encoding="utf-8")
    current = snaps.current()
    assert current is not None
    return current


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_the_manifest_records_every_files_size_and_sha256(tmp_path):
    snaps = Snapshots(tmp_path)
    make(snaps, "one")
    manifest = snaps.info().manifest
    assert manifest[FILES_KEY] == {
        "data.bin": {"bytes": 12288, "sha256": _sha(b"one" * 4096)},
        "sub/ids.json": {"bytes": 6, "sha256": _sha(b"[1, 2]")},
    }
    assert check_files(snaps.info().path, manifest) is True


def test_a_caller_cannot_set_the_files_key(tmp_path):
    from indexing.snapshots import SnapshotError

    with pytest.raises(SnapshotError, match="'files'"), Snapshots(tmp_path).create({FILES_KEY: {}}):
        pass


def test_a_flipped_block_of_the_same_size_is_refused_naming_the_file(tmp_path):
    snaps = Snapshots(tmp_path)
    make(snaps, "one")
    info = snaps.info()
    flip(info.path / "data.bin", 4096)
    changed = _sha((info.path / "data.bin").read_bytes())
    with pytest.raises(DamagedSnapshotError) as caught:
        check_files(info.path, info.manifest)
    error = caught.value
    assert (error.version, error.file) == ("v000001", "data.bin")
    assert str(error) == (
        f"snapshot {info.path} is incomplete or damaged: data.bin: its sha256 is {changed[:12]}, the "
        f"manifest recorded {_sha(b'one' * 4096)[:12]} (it changed after the build). {FIX}"
    )
    assert error.public == (
        f"snapshot v000001 is damaged: data.bin does not match what was recorded when it was built; {PUBLIC_FIX}"
    )


def test_a_cut_or_missing_file_is_refused_before_anything_is_hashed(tmp_path):
    snaps = Snapshots(tmp_path)
    make(snaps, "one")
    info = snaps.info()
    (info.path / "sub" / "ids.json").write_text("[1]", encoding="utf-8")
    with pytest.raises(DamagedSnapshotError, match=r"sub/ids.json: it has 3 bytes, the manifest recorded 6 "):
        check_files(info.path, info.manifest)
    (info.path / "data.bin").unlink()
    with pytest.raises(DamagedSnapshotError) as caught:
        check_files(info.path, info.manifest)
    assert (caught.value.file, caught.value.detail) == ("data.bin", "the file is missing")
    assert caught.value.public == f"snapshot v000001 is damaged: data.bin is missing; {PUBLIC_FIX}"


def test_a_snapshot_without_hashes_is_read_as_before_with_one_warning(tmp_path, caplog):
    snaps = Snapshots(tmp_path)
    make(snaps, "one")
    info = snaps.info()
    manifest = json.loads((info.path / MANIFEST_FILE).read_text(encoding="utf-8"))
    del manifest[FILES_KEY]  # what faqsearch wrote before it recorded hashes
    (info.path / MANIFEST_FILE).write_text(json.dumps(manifest), encoding="utf-8")
    flip(info.path / "data.bin", 0)  # not detectable without hashes
    with caplog.at_level(logging.WARNING, logger="indexing.snapshots"):
        assert check_files(info.path, snaps.info().manifest) is False
        assert check_files(info.path, snaps.info().manifest) is False
    warnings = [r.getMessage() for r in caplog.records]
    assert warnings == [
        f"snapshot {info.path} records no file hashes (it was built by an older faqsearch), so its files "
        "are not checked; rebuild the index (faqsearch index build) to have them checked"
    ]
    assert snaps.verify() == [Verdict("v000001", True, None, hashed=False)]


def test_verify_reports_every_folder_oldest_first(tmp_path):
    snaps = Snapshots(tmp_path)
    for marker in ("one", "two", "three"):
        make(snaps, marker)
    flip(snaps.path("v000002") / "data.bin", 0)
    (tmp_path / "snapshots" / "v000004").mkdir()  # a folder without a manifest
    snaps.rollback("v000002")
    lines = [v.line() for v in snaps.verify()]
    two = _sha((snaps.path("v000002") / "data.bin").read_bytes())
    assert lines == [
        "v000001 ok",
        f"v000002 damaged (current): data.bin: its sha256 is {two[:12]}, the manifest recorded "
        f"{_sha(b'two' * 4096)[:12]} (it changed after the build)",
        "v000003 ok",
        f"v000004 damaged: manifest.json: snapshot folder {snaps.path('v000004')} has no manifest.json; "
        "roll back with `faqsearch index rollback [VERSION]` or rebuild with `faqsearch index build`",
    ]


def test_newest_good_skips_damaged_snapshots(tmp_path):
    snaps = Snapshots(tmp_path)
    for marker in ("one", "two", "three"):
        make(snaps, marker)
    (snaps.path("v000002") / "sub" / "ids.json").unlink()
    assert snaps.newest_good().version == "v000003"
    assert snaps.newest_good(before="v000003").version == "v000001"
    assert snaps.newest_good(before="v000001") is None


def test_pruning_never_deletes_the_newest_good_snapshot(tmp_path):
    """v1 and v2 good, v3 damaged and current (a bad disk), then a build: keep=2 used to delete v2,
    the last good one a rollback could go to, and keep the damaged v3."""
    snaps = Snapshots(tmp_path, keep=2)
    for marker in ("one", "two", "three"):
        make(snaps, marker)
    assert [s.version for s in snaps.list()] == ["v000002", "v000003"]
    flip(snaps.path("v000003") / "data.bin", 0)
    assert make(snaps, "four") == "v000004"
    assert [s.version for s in snaps.list()] == ["v000002", "v000003", "v000004"]
    assert snaps.rollback().version == "v000003"  # the plain previous one: damaged
    assert snaps.newest_good(before="v000004").version == "v000002"
    # Once a newer good snapshot exists, the damaged one and the old good one go as usual.
    snaps.rollback("v000004")
    assert make(snaps, "five") == "v000005"
    assert [s.version for s in snaps.list()] == ["v000004", "v000005"]
