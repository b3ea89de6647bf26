"""Helpers shared by the bench scripts: stderr progress, machine description, test-set sentences."""

from __future__ import annotations

import json
import os
import platform
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL = REPO_ROOT.parent / "shared" / "models" / "me5-small-koen"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_flags() -> list[str]:
    """The CPU flags that decide the products' speed (the vector, bf16 and int8 units)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return sorted(f for f in line.split(":", 1)[1].split() if f.startswith(("avx", "amx", "fma")))
    except OSError:
        pass
    return []


def machine() -> dict[str, object]:
    """CPU, cores this process may use, RAM, thread settings, library versions, GPU name if any."""
    import torch

    info: dict[str, object] = {
        "cpu": cpu_model(),
        "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "ram_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "torch_threads": torch.get_num_threads(),
        "torch_interop_threads": torch.get_num_interop_threads(),
        "python": platform.python_version(),
        "torch": torch.__version__,
    }
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def testset_sentences(name: str, count: int, *, alternate: bool = False) -> list[str]:
    """The first `count` distinct normalised texts of a ranking test set: its corpus (long FAQ
    entries) first, then its queries (short questions), so the mix has both lengths; alternate:
    one corpus entry, one query, and so on (a small count then still mixes both)."""
    from models.text import normalize_text

    def texts(file: str) -> list[str]:
        with (REPO_ROOT / "testsets" / name / file).open(encoding="utf-8") as lines:
            return [normalize_text(json.loads(line)["text"]) for line in lines]

    corpus, queries = texts("corpus.jsonl"), texts("queries.jsonl")
    if alternate:
        mixed = [t for pair in zip(corpus, queries, strict=False) for t in pair]
        candidates = mixed + corpus[len(mixed) // 2 :] + queries[len(mixed) // 2 :]
    else:
        candidates = corpus + queries
    sentences = list(dict.fromkeys(t for t in candidates if t))[:count]  # distinct, in order
    if len(sentences) < count:
        raise SystemExit(f"test set {name!r} holds only {len(sentences)} distinct texts; asked for {count}")
    return sentences


def rss_bytes() -> int:
    """Current resident set size of this process (not the peak): /proc/self/statm, in pages."""
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class PeakRss:
    """Highest resident set size seen while the `with` block runs, sampled every `interval` s by a
    thread (ru_maxrss is the peak of the whole process, so it cannot tell phases apart).

        with PeakRss() as peak:
            work()
        peak.start_bytes, peak.peak_bytes
    """

    def __init__(self, interval: float = 0.02) -> None:
        import threading

        self.interval = interval
        self.start_bytes = self.peak_bytes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak_bytes = max(self.peak_bytes, rss_bytes())

    def __enter__(self) -> PeakRss:
        self.start_bytes = self.peak_bytes = rss_bytes()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_bytes = max(self.peak_bytes, rss_bytes())
