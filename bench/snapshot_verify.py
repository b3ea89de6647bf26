"""Benchmark: loading a 1M x 384 float32 flat index with and without checking its sha256.

Builds one snapshot with `Snapshots.create` (so its manifest records the file's size and sha256, as
every build's does) holding only index.faiss: an id-mapped flat index of N random unit vectors.
Then loads it, each way in a fresh process (so peak RSS is that way's own), the ways taking turns:

    unverified     VectorIndex.load (faiss.read_index): what loading did before hashes
    verified       check_files (size, then sha256 in 16 MiB reads) + VectorIndex.load: what
                   LoadedIndex.load does now; the file is read twice, the second time from the
                   page cache, and FAISS parses only bytes that were checked
    one_read       the file read once into memory, hashed, then faiss.deserialize_index: one read
                   from disk, but the bytes are copied twice more (into FAISS's reader, then into
                   the index), so peak memory is 3x the file

`--cache cold` drops the file's pages from the page cache (posix_fadvise DONTNEED) before each
load, so the first read comes from the disk; `warm` (after a build or a previous load) is what a
server restart or a follow usually sees. Prints one JSON object: medians per way and cache state,
the verified / unverified ratio, sha256 throughput and each way's peak RSS.

    python bench/snapshot_verify.py                          # 1M vectors, warm and cold, 3 rounds
    python bench/snapshot_verify.py --vectors 100000 --rounds 5 --cache warm
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

DIM = 384
WAYS = ("unverified", "verified", "one_read")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def build(data_dir: Path, n: int) -> Path:
    """One snapshot of `data_dir` holding an id-mapped flat index of n random unit vectors."""
    import numpy as np

    from indexing.snapshots import Snapshots
    from indexing.vector_index import IndexParams, VectorIndex

    rng = np.random.default_rng(0)
    index = None
    for start in range(0, n, 100_000):  # in chunks: no second copy of all vectors
        chunk = rng.standard_normal((min(100_000, n - start), DIM), dtype=np.float32)
        chunk /= np.linalg.norm(chunk, axis=1, keepdims=True)
        labels = np.arange(start, start + len(chunk), dtype=np.int64)
        if index is None:
            index = VectorIndex.build(chunk, labels, IndexParams())
        else:
            index.add(chunk, labels)
    assert index is not None
    snapshots = Snapshots(data_dir, keep=1)
    with snapshots.create({"dim": DIM, "index": IndexParams().to_dict(), "vectors": n}) as folder:
        index.save(folder / "index.faiss")
    info = snapshots.current_info()
    assert info is not None
    return info.path


def load_once(way: str, folder: Path) -> dict[str, float]:
    """Runs in the child process: one load of `folder`'s index -> seconds and peak RSS."""
    import hashlib

    import numpy as np

    from indexing.snapshots import Snapshots, check_files
    from indexing.vector_index import IndexParams, VectorIndex, _faiss

    faiss = _faiss()  # imported before the clock starts, as a server has it already
    info = Snapshots(folder.parent.parent).info(folder.name)
    path = folder / "index.faiss"
    started = time.perf_counter()
    if way == "unverified":
        index = VectorIndex.load(path, IndexParams(), DIM).index
    elif way == "verified":
        assert check_files(folder, info.manifest)
        index = VectorIndex.load(path, IndexParams(), DIM).index
    else:
        data = np.fromfile(path, dtype=np.uint8)
        if hashlib.sha256(data).hexdigest() != info.manifest["files"]["index.faiss"]["sha256"]:
            raise SystemExit("hash mismatch")
        index = faiss.deserialize_index(data)
        del data
    seconds = time.perf_counter() - started
    assert index.ntotal == info.manifest["vectors"]
    return {"seconds": seconds, "peak_rss_mb": peak_rss_mb()}


def peak_rss_mb() -> float:
    """This process's own peak RSS (VmHWM): ru_maxrss would include the parent's, kept across the
    fork and exec that started it."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def evict(path: Path) -> None:
    """Drop the file's pages from the page cache (clean pages only: it was fsynced)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def sha256_rate(path: Path) -> float:
    """MB/s of hashing the (cached) file with check_files' chunked reads."""
    from indexing.snapshots import file_sha256

    file_sha256(path)  # into the page cache
    started = time.perf_counter()
    file_sha256(path)
    return path.stat().st_size / 2**20 / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--vectors", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cache", choices=("warm", "cold", "both"), default="both")
    parser.add_argument("--dir", type=Path, default=None, help="where to build (default: a temp folder)")
    parser.add_argument("--child", nargs=2, metavar=("WAY", "FOLDER"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(load_once(args.child[0], Path(args.child[1]))))
        return

    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        log(f"building a flat index of {args.vectors} x {DIM} vectors ...")
        started = time.perf_counter()
        folder = build(Path(tmp), args.vectors)
        build_s = time.perf_counter() - started
        path = folder / "index.faiss"
        caches = ("warm", "cold") if args.cache == "both" else (args.cache,)
        runs: dict[str, dict[str, list[dict[str, float]]]] = {c: {w: [] for w in WAYS} for c in caches}
        for round_ in range(args.rounds):
            for cache in caches:
                for way in WAYS if round_ % 2 == 0 else WAYS[::-1]:  # turns: no way always goes first
                    if cache == "cold":
                        evict(path)  # warm: the build or the previous load left it cached
                    child = subprocess.run(
                        [sys.executable, __file__, "--child", way, str(folder)],
                        capture_output=True,
                        text=True,
                        check=True,
                    )
                    result = json.loads(child.stdout)
                    runs[cache][way].append(result)
                    log(f"round {round_ + 1} {cache} {way}: {result['seconds']:.2f}s")
        rate = sha256_rate(path)
        summary = {}
        for cache in caches:
            medians = {w: statistics.median(r["seconds"] for r in runs[cache][w]) for w in WAYS}
            summary[cache] = {
                "seconds_median": {w: round(medians[w], 3) for w in WAYS},
                "seconds_all": {w: [round(r["seconds"], 3) for r in runs[cache][w]] for w in WAYS},
                "ratio_verified_to_unverified": round(medians["verified"] / medians["unverified"], 2),
                "ratio_one_read_to_unverified": round(medians["one_read"] / medians["unverified"], 2),
                "peak_rss_mb": {w: round(max(r["peak_rss_mb"] for r in runs[cache][w])) for w in WAYS},
            }
        import faiss

        print(
            json.dumps(
                {
                    "bench": "snapshot_verify",
                    "date": datetime.now(UTC).isoformat(timespec="seconds"),
                    "vectors": args.vectors,
                    "dim": DIM,
                    "file_mb": round(path.stat().st_size / 2**20, 1),
                    "build_s": round(build_s, 1),
                    "rounds": args.rounds,
                    "sha256_mb_per_s": round(rate),
                    "cores": len(os.sched_getaffinity(0)),
                    "faiss": faiss.__version__,
                    "python": sys.version.split()[0],
                    **summary,
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
