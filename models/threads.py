"""Compute threads: the one place that decides how many CPU threads the encoder (and FAISS) use.

Why this exists: torch's OpenMP threads spin while they wait for each other. With as many threads
as cores and another process on one of them (a shared host, a container quota, an import or a
rebuild beside the server), every forward pass waits for a thread that is not running, and a
20 ms search took 845 ms (docs/benchmarks.md, "Threads on a busy host"). So:

- `usable_cpus`: the CPUs this process may really use, from its CPU affinity and the cgroup
  (v2 `cpu.max`, v1 `cpu.cfs_quota_us`) quota of its container, never more;
- `OMP_WAIT_POLICY=PASSIVE` before the OpenMP runtimes load: a waiting thread sleeps instead of
  spinning against other processes (no measurable cost on an idle host);
- with `auto`, `ThreadGovernor` re-reads how much of those CPUs other processes use (/proc/stat
  minus this process's own CPU time) at most every `SAMPLE_S` and gives each forward pass the
  CPUs left idle: all of them on an idle host, fewer while another process is busy;
- inter-op threads: 1 (torch uses them only for `torch.jit.fork`, which nothing here calls).

torch-free at import: the settings and the CLI call `configure` before torch is first imported.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from models.errors import InvalidValueError

logger = logging.getLogger(__name__)

THREADS_CHOICES = "'auto' or a whole number >= 1"
SPIN_COUNT = 30_000  # busy-wait iterations of an idle OpenMP thread before it sleeps (libgomp: 300,000)
SAMPLE_S = 0.25  # how stale the idle-CPU reading may be: short against a rebuild, long against /proc reads


def parse_threads(spec: str | int) -> int | None:
    """'auto' -> None (decided per forward pass); '3' or 3 -> 3. Anything else is a ValueError."""
    text = str(spec).strip().lower()
    if text == "auto":
        return None
    if text.isdigit() and int(text) >= 1:
        return int(text)
    raise InvalidValueError(f"unknown thread setting {spec!r} (FAQSEARCH_THREADS); valid: {THREADS_CHOICES}")


def cgroup_cpu_limit(
    root: Path = Path("/sys/fs/cgroup"), self_cgroup: Path = Path("/proc/self/cgroup")
) -> float | None:
    """The CPU quota of this process's cgroup in CPUs (quota / period), or None when unlimited.

    v2: `cpu.max` ("max 100000" or "200000 100000") in the process's cgroup and each parent;
    v1: `cpu.cfs_quota_us` / `cpu.cfs_period_us` in the cpu controller's hierarchy. The tightest
    limit found wins (a parent's quota caps its children)."""
    try:
        lines = self_cgroup.read_text().splitlines()
    except OSError:
        lines = []
    v2_path, v1_path = "/", "/"
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        if parts[0] == "0" and parts[1] == "":
            v2_path = parts[2]
        elif "cpu" in parts[1].split(","):
            v1_path = parts[2]
    limits: list[float] = []
    for folder in _self_and_parents(root, v2_path):
        quota = _read_words(folder / "cpu.max")
        if len(quota) == 2 and quota[0] != "max":
            limits.append(_ratio(quota[0], quota[1]))
    for base in (root / "cpu", root / "cpu,cpuacct"):
        for folder in _self_and_parents(base, v1_path):
            quota, period = (
                _read_words(folder / "cpu.cfs_quota_us"),
                _read_words(folder / "cpu.cfs_period_us"),
            )
            if quota and period and quota[0].lstrip("-").isdigit() and int(quota[0]) > 0:
                limits.append(_ratio(quota[0], period[0]))
    limits = [limit for limit in limits if limit > 0]
    return min(limits) if limits else None


def usable_cpus(affinity: Iterable[int] | None = None, cgroup_limit: float | None = None) -> int:
    """The CPUs this process may use: its affinity, capped by a cgroup quota (rounded up: a quota
    of 1.5 CPUs still runs 2 threads, each a part of the time)."""
    cpus = len(set(affinity)) if affinity is not None else len(_affinity())
    if cgroup_limit is not None:
        cpus = min(cpus, max(1, math.ceil(cgroup_limit - 1e-9)))
    return max(1, cpus)


def busy_jiffies(stat_text: str, cpus: Iterable[int] | None) -> int | None:
    """Busy time (all but idle and iowait) summed over `cpus` (None: the machine's "cpu" line)
    from the text of /proc/stat, in clock ticks."""
    wanted = None if cpus is None else {f"cpu{c}" for c in cpus}
    total, found = 0, False
    for line in stat_text.splitlines():
        if not line.startswith("cpu"):
            continue
        name, *fields = line.split()
        if (wanted is None and name != "cpu") or (wanted is not None and name not in wanted):
            continue
        ticks = [int(f) for f in fields[:8]]  # user nice system idle iowait irq softirq steal
        total += sum(ticks) - ticks[3] - ticks[4]
        found = True
    return total if found else None


@dataclass(frozen=True)
class ThreadChoice:
    """What `configure` decided; `describe()` is the startup log line."""

    setting: int | None  # None = auto
    usable: int
    cgroup_limit: float | None

    def describe(self) -> str:
        quota = "none" if self.cgroup_limit is None else f"{self.cgroup_limit:g} CPUs"
        how = (
            f"auto, up to {self.usable} (the CPUs idle at each forward pass)"
            if self.setting is None
            else f"{self.setting} (FAQSEARCH_THREADS)"
        )
        return (
            f"threads: {how}; usable CPUs {self.usable} (affinity {len(_affinity())}, cgroup quota {quota}); "
            f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'unset')}, "
            f"GOMP_SPINCOUNT={os.environ.get('GOMP_SPINCOUNT', 'unset')}"
        )


class ThreadGovernor:
    """Threads for the next forward pass: the usable CPUs that other processes leave idle.

    `read_stat`, `own_cpu_s` and `clock` are injectable for tests. Other processes' use of our
    CPUs = (busy ticks on them) / tick rate - this process's own CPU time, over the last interval."""

    def __init__(
        self,
        usable: int,
        cpus: Iterable[int] | None = None,
        *,
        read_stat: Callable[[], str] | None = None,
        own_cpu_s: Callable[[], float] = time.process_time,
        clock: Callable[[], float] = time.monotonic,
        ticks_per_s: float | None = None,
    ) -> None:
        self.usable = usable
        self._cpus = None if cpus is None else sorted(set(cpus))
        self._read_stat = read_stat or (lambda: Path("/proc/stat").read_text())
        self._own_cpu_s = own_cpu_s
        self._clock = clock
        self._ticks_per_s = ticks_per_s or float(os.sysconf("SC_CLK_TCK"))
        self._lock = threading.Lock()
        self._last: tuple[float, int, float] | None = None  # (time, busy ticks, own CPU s)
        self._threads = usable

    def threads(self) -> int:
        with self._lock:
            now = self._clock()
            if self._last is not None and now - self._last[0] < SAMPLE_S:
                return self._threads
            try:
                busy = busy_jiffies(self._read_stat(), self._cpus)
            except OSError:
                busy = None
            if busy is None:  # no /proc/stat (not Linux): all usable CPUs, as a fixed setting would
                self._last = (now, 0, 0.0)
                return self._threads
            own = self._own_cpu_s()
            if self._last is not None and now > self._last[0]:
                elapsed = now - self._last[0]
                others = (busy - self._last[1]) / self._ticks_per_s - (own - self._last[2])
                idle_cpus = len(self._cpus) if self._cpus is not None else self.usable
                free = min(float(self.usable), idle_cpus - max(0.0, others / elapsed))
                self._threads = max(1, min(self.usable, math.floor(free + 0.5)))
            self._last = (now, busy, own)
            return self._threads


_governor: ThreadGovernor | None = None
_fixed: int | None = None
# torch's, MKL's and FAISS's thread counts are per calling thread (omp_set_num_threads sets the
# caller's ICV), so the count is applied in the thread that runs the forward pass; FAISS's last
# value is remembered per thread (it has no cheap getter that reads the same ICV).
_local = threading.local()
_interop_set = False
_choice: ThreadChoice | None = None


def configure(setting: str | int = "auto") -> ThreadChoice:
    """Decide the compute threads once per process, before torch loads where possible.

    Sets OMP_WAIT_POLICY=PASSIVE (unless the user set it) and the OMP/MKL thread counts in the
    environment, which the OpenMP runtimes of torch and FAISS read when they load; if torch is
    already loaded, its thread counts directly. Returns the choice for the startup log line."""
    global _governor, _fixed, _choice
    chosen = parse_threads(setting)
    limit = cgroup_cpu_limit()
    usable = usable_cpus(cgroup_limit=limit)
    count = chosen if chosen is not None else usable
    if "torch" not in sys.modules:
        if "OMP_WAIT_POLICY" not in os.environ:  # the user's own policy wins
            os.environ.setdefault("GOMP_SPINCOUNT", str(SPIN_COUNT))
        os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = str(count)
    _fixed = count if chosen is not None else None
    _governor = ThreadGovernor(usable, _affinity()) if chosen is None else None
    _local.__dict__.clear()
    _apply(count)
    _choice = ThreadChoice(chosen, usable, limit)
    return _choice


def configure_once(setting: str | int = "auto") -> ThreadChoice:
    """`configure` unless this process already did (the CLI does, before the server starts)."""
    return _choice if _choice is not None else configure(setting)


def before_forward() -> None:
    """Called by the encoder before each forward pass, in the thread that runs it (cheap: the
    idle-CPU reading is refreshed at most every SAMPLE_S)."""
    if _governor is not None:
        _apply(_governor.threads())
    elif _fixed is not None:
        _apply(_fixed)


def _apply(count: int) -> None:
    global _interop_set
    torch = sys.modules.get("torch")
    if torch is not None and torch.get_num_threads() != count:  # a per-thread value: cheap to read
        torch.set_num_threads(count)
        if not _interop_set:
            _interop_set = True
            # Allowed only before the first inter-op work; otherwise keep what is set.
            with contextlib.suppress(RuntimeError):
                torch.set_num_interop_threads(1)
    faiss = sys.modules.get("faiss")
    if faiss is not None and getattr(_local, "faiss", None) != count:
        faiss.omp_set_num_threads(count)
        _local.faiss = count


def _affinity() -> set[int]:
    try:
        return os.sched_getaffinity(0)
    except AttributeError:  # not Linux
        return set(range(os.cpu_count() or 1))


def _self_and_parents(base: Path, cgroup_path: str) -> list[Path]:
    parts = [p for p in cgroup_path.strip().split("/") if p]
    return [base.joinpath(*parts[:i]) for i in range(len(parts), -1, -1)]


def _read_words(path: Path) -> list[str]:
    try:
        return path.read_text().split()
    except OSError:
        return []


def _ratio(quota: str, period: str) -> float:
    try:
        return int(quota) / int(period)
    except (ValueError, ZeroDivisionError):
        return 0.0
