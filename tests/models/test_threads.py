"""Compute threads: parsing, the CPUs a process may use (affinity, cgroup quota files), and the
per-forward-pass choice from /proc/stat readings. Fake cgroup trees live in a temp dir."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from models import threads
from models.threads import ThreadGovernor, busy_jiffies, cgroup_cpu_limit, parse_threads, usable_cpus


def test_parse_threads() -> None:
    assert parse_threads("auto") is None
    assert parse_threads(" AUTO ") is None
    assert parse_threads("3") == 3
    assert parse_threads(1) == 1
    for bad in ("0", "-1", "many", "1.5", ""):
        with pytest.raises(ValueError, match=r"FAQSEARCH_THREADS.*'auto' or a whole number >= 1"):
            parse_threads(bad)


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_cgroup_v2_quota_of_own_cgroup_and_tighter_parent(tmp_path: Path) -> None:
    self_cgroup = tmp_path / "self_cgroup"
    write(self_cgroup, "0::/kubepods/pod7/app\n")
    root = tmp_path / "fs"
    write(root / "kubepods/pod7/app/cpu.max", "150000 100000\n")
    assert cgroup_cpu_limit(root, self_cgroup) == 1.5
    write(root / "kubepods/cpu.max", "100000 100000\n")  # the parent caps its children
    assert cgroup_cpu_limit(root, self_cgroup) == 1.0
    write(root / "kubepods/cpu.max", "max 100000\n")
    write(root / "kubepods/pod7/app/cpu.max", "max 100000\n")
    assert cgroup_cpu_limit(root, self_cgroup) is None


def test_cgroup_v1_quota(tmp_path: Path) -> None:
    self_cgroup = tmp_path / "self_cgroup"
    write(self_cgroup, "4:memory:/docker/abc\n1:cpu,cpuacct:/docker/abc\n0::/\n")
    root = tmp_path / "fs"
    write(root / "cpu,cpuacct/docker/abc/cpu.cfs_quota_us", "250000\n")
    write(root / "cpu,cpuacct/docker/abc/cpu.cfs_period_us", "100000\n")
    assert cgroup_cpu_limit(root, self_cgroup) == 2.5
    write(root / "cpu,cpuacct/docker/abc/cpu.cfs_quota_us", "-1\n")  # -1: no quota
    assert cgroup_cpu_limit(root, self_cgroup) is None


def test_no_cgroup_files_means_no_limit(tmp_path: Path) -> None:
    assert cgroup_cpu_limit(tmp_path / "none", tmp_path / "missing") is None


def test_usable_cpus_from_affinity_and_quota() -> None:
    assert usable_cpus(affinity={0, 1, 5}) == 3
    assert usable_cpus(affinity={0, 1, 2, 3}, cgroup_limit=1.5) == 2  # 1.5 CPUs: 2 threads, part time
    assert usable_cpus(affinity={0, 1, 2, 3}, cgroup_limit=1.0) == 1
    assert usable_cpus(affinity={0, 1}, cgroup_limit=8.0) == 2  # never more than the affinity
    assert usable_cpus(affinity={3}, cgroup_limit=0.2) == 1


STAT = """cpu  {u} 0 0 {i} 0 0 0 0 0 0
cpu0 {u0} 0 0 {i0} 0 0 0 0 0 0
cpu1 {u1} 0 0 {i1} 0 0 0 0 0 0
cpu2 7 0 0 9 0 0 0 0 0 0
intr 1 2 3
"""


def stat(u0: int, u1: int) -> str:
    return STAT.format(u=u0 + u1 + 7, i=9, u0=u0, i0=0, u1=u1, i1=0)


def test_busy_jiffies_sums_busy_fields_of_the_chosen_cpus() -> None:
    text = "cpu  10 1 2 100 5 1 1 0 0 0\ncpu0 4 1 1 50 2 0 1 0 0 0\ncpu1 6 0 1 50 3 1 0 0 0 0\n"
    assert busy_jiffies(text, None) == 10 + 1 + 2 + 1 + 1  # all but idle (100) and iowait (5)
    assert busy_jiffies(text, [1]) == 6 + 1 + 1
    assert busy_jiffies(text, [0, 1]) == 4 + 1 + 1 + 1 + 6 + 1 + 1
    assert busy_jiffies(text, [9]) is None


def test_governor_gives_the_cpus_other_processes_leave_idle() -> None:
    """Two CPUs, 100 ticks/s. Readings 1 s apart; this process's own CPU time is subtracted."""
    clock = [0.0]
    own = [0.0]
    ticks = [0, 0]
    governor = ThreadGovernor(
        2,
        [0, 1],
        read_stat=lambda: stat(*ticks),
        own_cpu_s=lambda: own[0],
        clock=lambda: clock[0],
        ticks_per_s=100,
    )
    assert governor.threads() == 2  # first reading: nothing to compare yet, all usable CPUs

    def step(others_ticks: int, own_s: float) -> int:
        clock[0] += 1.0
        own[0] += own_s
        ticks[0] += others_ticks + int(own_s * 100)  # our own use shows in /proc/stat too
        return governor.threads()

    assert step(others_ticks=100, own_s=1.0) == 1  # another process kept one CPU busy
    assert step(others_ticks=0, own_s=2.0) == 2  # only we were busy: both CPUs are ours
    assert step(others_ticks=40, own_s=0.0) == 2  # 0.4 CPU taken: 1.6 left rounds to 2
    assert step(others_ticks=70, own_s=0.0) == 1  # 0.7 CPU taken: 1.3 left rounds to 1
    assert step(others_ticks=200, own_s=0.0) == 1  # both taken: still one thread, never zero
    clock[0] += threads.SAMPLE_S / 2  # within SAMPLE_S the last choice stands, /proc is not re-read
    ticks[0] = -(10**9)
    assert governor.threads() == 1


def test_governor_capped_by_quota_not_by_idle_cpus() -> None:
    """A 1-CPU quota on a 2-CPU affinity: one thread even when both CPUs are idle."""
    clock = [0.0]
    governor = ThreadGovernor(
        1,
        [0, 1],
        read_stat=lambda: stat(0, 0),
        own_cpu_s=lambda: 0.0,
        clock=lambda: clock[0],
        ticks_per_s=100,
    )
    governor.threads()
    clock[0] = 1.0
    assert governor.threads() == 1


def test_fixed_setting_is_applied_in_the_forward_thread() -> None:
    import torch

    before = torch.get_num_threads()
    try:
        choice = threads.configure("1")
        assert choice.setting == 1
        torch.set_num_threads(2)  # something else changed it: the next forward pass sets it back
        threads.before_forward()
        assert torch.get_num_threads() == 1
        assert "threads: 1 (FAQSEARCH_THREADS)" in choice.describe()
    finally:
        threads.configure("auto")
        torch.set_num_threads(before)


def test_a_bad_setting_is_one_line_naming_the_variable_and_the_choices(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "faqsearch.cli", "index", "list", "--index", str(tmp_path)],
        env={"FAQSEARCH_THREADS": "lots", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: invalid setting: FAQSEARCH_THREADS: unknown thread setting 'lots' (FAQSEARCH_THREADS); "
        "valid: 'auto' or a whole number >= 1"
    )
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("user_env", "expected"),
    [
        ({}, ["-", str(threads.SPIN_COUNT), "1", "1"]),  # a short spin, then sleep
        ({"OMP_WAIT_POLICY": "ACTIVE"}, ["ACTIVE", "-", "1", "1"]),  # the user's own policy wins
    ],
)
def test_the_wait_policy_and_thread_count_are_set_before_torch_loads(user_env, expected) -> None:
    code = (
        "import os; from faqsearch.settings import get_settings; from models.threads import configure; "
        "configure(get_settings().threads); import torch; "
        "print(os.environ.get('OMP_WAIT_POLICY', '-'), os.environ.get('GOMP_SPINCOUNT', '-'), "
        "os.environ['OMP_NUM_THREADS'], torch.get_num_threads())"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={"FAQSEARCH_THREADS": "1", "PATH": "/usr/bin:/bin", **user_env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.stdout.split() == expected, result.stderr
