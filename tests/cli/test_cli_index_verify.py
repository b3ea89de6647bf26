"""`faqsearch index verify` as a real process over real snapshots (built with the tiny model: the
subject is the files): one line per snapshot, exit 0 when the current one is good, 1 otherwise."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys

import pytest
from damage import flip
from default_index import data_dir_with_snapshots

from indexing.snapshots import Snapshots
from indexing.store import FaqEntry

FAQS = [FaqEntry(f"faq-{i:02d}", f"{i}번 질문: 배송은 며칠 걸리나요?") for i in range(20)]


def verify(data_dir):
    return subprocess.run(
        [sys.executable, "-m", "faqsearch.cli", "index", "verify", "--index", str(data_dir)],
        capture_output=True,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        timeout=300,
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory, tiny_encoder):
    return data_dir_with_snapshots(tmp_path_factory.mktemp("data"), tiny_encoder, FAQS, 2)


@pytest.fixture()
def data_dir(tmp_path, built):
    shutil.copytree(built, tmp_path / "data")
    return tmp_path / "data"


def test_good_snapshots_are_ok_and_exit_0(data_dir):
    result = verify(data_dir)
    assert (result.returncode, result.stdout, result.stderr) == (0, "v000001 ok\nv000002 ok (current)\n", "")


def test_a_damaged_current_snapshot_is_named_with_its_file_and_exits_1(data_dir):
    path = Snapshots(data_dir).path("v000002") / "index.faiss"
    recorded = hashlib.sha256(path.read_bytes()).hexdigest()
    flip(path, path.stat().st_size // 2)
    changed = hashlib.sha256(path.read_bytes()).hexdigest()
    result = verify(data_dir)
    assert result.returncode == 1
    assert result.stdout == (
        "v000001 ok\n"
        f"v000002 damaged (current): index.faiss: its sha256 is {changed[:12]}, the manifest recorded "
        f"{recorded[:12]} (it changed after the build)\n"
    )
    assert result.stderr == (
        "error: the current snapshot v000002 is damaged; roll back to a good one (faqsearch index rollback "
        "VERSION) or rebuild the index (faqsearch index build)\n"
    )
    Snapshots(data_dir).rollback("v000001")  # the fix it names
    after = verify(data_dir)
    assert after.returncode == 0 and after.stdout.splitlines()[0] == "v000001 ok (current)"


def test_a_damaged_older_snapshot_is_reported_but_exits_0(data_dir):
    (Snapshots(data_dir).path("v000001") / "labels.json").unlink()
    result = verify(data_dir)
    assert (result.returncode, result.stdout) == (
        0,
        "v000001 damaged: labels.json: the file is missing\nv000002 ok (current)\n",
    )


def test_no_snapshot_or_no_folder(tmp_path):
    empty = verify(tmp_path)
    assert (empty.returncode, empty.stdout) == (1, "")
    assert (
        empty.stderr
        == f"error: there is no index snapshot in {tmp_path}; build one (faqsearch index build)\n"
    )
    missing = verify(tmp_path / "typo")
    assert missing.returncode == 2 and missing.stderr.startswith(
        f"error: no data directory {tmp_path / 'typo'}"
    )


def test_a_garbled_current_file_lists_the_snapshots_and_exits_1(data_dir):
    current = data_dir / "snapshots" / "CURRENT"
    current.write_text("garbage\n", encoding="utf-8")
    result = verify(data_dir)
    assert (result.returncode, result.stdout) == (1, "v000001 ok\nv000002 ok\n")
    assert result.stderr == (
        f"error: {current} holds 'garbage', not a snapshot name like 'v000001'; roll back with `faqsearch "
        "index rollback [VERSION]` or rebuild with `faqsearch index build`\n"
    )
