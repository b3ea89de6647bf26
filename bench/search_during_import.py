"""Benchmark: `POST /v1/search` latency while another process imports 20k rows into the served store.

One `faqsearch serve` process (and, with `--before DIR`, one of another checkout, e.g. the commit
before the store's readers got their own connections) over the same kind of index. For each server,
three phases of `--seconds` each, taking turns over `--rounds` rounds so machine noise hits all:
- `idle`: searching clients only;
- `import`: the same while `faqsearch faqs import` of a `--rows`-row CSV runs again and again in
  another process (each run changes every answer, so every row is rewritten in one transaction);
- `import+writes`: the same plus one API writer (`PUT /v1/faqs/{id}` back to back), whose writes
  queue behind the import's transactions.
Each cell: p50/p99 of the searches over all rounds, the slowest search, and the writes' outcomes.
Ratios (`p99_ratio_vs_idle`) compare a phase with the same server's idle phase in the same run.

Prints one JSON object to stdout; progress goes to stderr.

    python bench/search_during_import.py                        # 2k-entry index, 20k-row import
    python bench/search_during_import.py --before /tmp/before --rounds 2 --seconds 15
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DEFAULT_MODEL, REPO_ROOT, cpu_flags, log, machine
from service import build_index, percentile, short_queries, start_server

API_KEY = "bench-key"


def write_import_file(path: Path, rows: int, round_: int) -> None:
    """`rows` entries with ids apart from the index's (i000000...), answers naming the round."""
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["id", "question", "answer"])
        for i in range(rows):
            writer.writerow([f"i{i:06d}", f"가져오기 질문 {i}번입니다", f"{round_}회차 답변 {i}"])


def importer(tree: Path, data_dir: Path, rows: int, work: Path, stop_at: float) -> subprocess.Popen:
    """A shell loop of `faqsearch faqs import` runs (each with a freshly changed file) until `stop_at`."""
    files = [work / f"import{r}.csv" for r in range(2)]
    for r, file in enumerate(files):
        if not file.exists():
            write_import_file(file, rows, r)
    script = (
        "import subprocess, sys, time\n"
        f"stop_at = time.time() + {stop_at - time.monotonic():.3f}\n"
        "runs = 0\n"
        "while time.time() < stop_at:\n"
        f"    file = {[str(f) for f in files]!r}[runs % 2]\n"
        "    subprocess.run([sys.executable, '-m', 'faqsearch.cli', 'faqs', 'import', file, "
        f"'--out', {str(data_dir)!r}], check=True, stderr=subprocess.DEVNULL)\n"
        "    runs += 1\n"
        "print(runs)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("FAQSEARCH_")} | {"HF_HUB_OFFLINE": "1"}
    return subprocess.Popen(
        [sys.executable, "-c", script], cwd=tree, env=env, stdout=subprocess.PIPE, text=True
    )


async def searches_and_writes(
    url: str, queries: list[str], clients: int, seconds: float, writes: bool
) -> tuple[list[float], dict[int, int], list[float]]:
    """`clients` searching back to back (and one writer when `writes`) for `seconds` ->
    (search latencies ms, write status counts, write latencies ms)."""
    import aiohttp

    latencies: list[float] = []
    write_latencies: list[float] = []
    statuses: dict[int, int] = {}
    stop_at = time.perf_counter() + seconds
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(
        url, connector=aiohttp.TCPConnector(limit=clients + 1), timeout=timeout
    ) as session:

        async def searcher(offset: int) -> None:
            i = offset
            while time.perf_counter() < stop_at:
                started = time.perf_counter()
                async with session.post("/v1/search", json={"query": queries[i % len(queries)]}) as response:
                    await response.read()
                    if response.status != 200:
                        raise SystemExit(f"search answered {response.status}")
                latencies.append((time.perf_counter() - started) * 1000)
                i += clients

        async def writer() -> None:
            n = 0
            headers = {"Authorization": f"Bearer {API_KEY}"}
            while time.perf_counter() < stop_at:
                body = {"question": f"관리자가 고친 질문 {n}번", "answer": "답변"}
                started = time.perf_counter()
                async with session.put(f"/v1/faqs/w{n % 50:03d}", json=body, headers=headers) as response:
                    await response.read()
                    statuses[response.status] = statuses.get(response.status, 0) + 1
                write_latencies.append((time.perf_counter() - started) * 1000)
                n += 1

        tasks = [searcher(c) for c in range(clients)] + ([writer()] if writes else [])
        await asyncio.gather(*tasks)
    return latencies, statuses, write_latencies


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default=str(DEFAULT_MODEL))
    parser.add_argument("--entries", type=int, default=2000, help="Entries of the served index.")
    parser.add_argument("--rows", type=int, default=20000, help="Rows of each import.")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--before", type=Path, help="Another checkout to measure side by side.")
    parser.add_argument(
        "--work", type=Path, help="Folder for the index and import files (default: temporary)."
    )
    args = parser.parse_args()

    from models.encoder import Encoder

    work = args.work or Path(tempfile.mkdtemp(prefix="faqsearch-import-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    template = work / "template"
    build_index(template, args.entries, Encoder.load(args.model, device="cpu"), "bm25")
    queries = short_queries(200)
    trees = {"this": REPO_ROOT} | ({"before": args.before.resolve()} if args.before else {})
    servers = {}
    for name, tree in trees.items():
        data_dir = work / f"data-{name}"
        if not data_dir.exists():
            subprocess.run(["cp", "-r", str(template), str(data_dir)], check=True)
        servers[name] = (
            *start_server(data_dir, args.model, True, None, tree, {"FAQSEARCH_API_KEY": API_KEY}),
            data_dir,
            tree,
        )
        log(f"{name}: serving {data_dir} from {tree}")

    phases = ("idle", "import", "import+writes")
    cells: dict[tuple[str, str], dict[str, list]] = {
        (s, p): {"search": [], "write": [], "statuses": [], "imports": []} for s in servers for p in phases
    }
    try:
        for round_ in range(args.rounds):
            for phase in phases:
                for name, (_, url, data_dir, tree) in servers.items():
                    log(f"round {round_ + 1}: {name} {phase}")
                    loader = None
                    if phase != "idle":
                        loader = importer(tree, data_dir, args.rows, work, time.monotonic() + args.seconds)
                        time.sleep(1.0)  # let the first import open its transaction
                    search, statuses, writes = asyncio.run(
                        searches_and_writes(
                            url, queries, args.clients, args.seconds, phase == "import+writes"
                        )
                    )
                    cell = cells[(name, phase)]
                    cell["search"] += search
                    cell["write"] += writes
                    cell["statuses"].append(statuses)
                    if loader is not None:
                        out, _ = loader.communicate(timeout=600)
                        cell["imports"].append(int(out.strip() or 0))
    finally:
        for process, *_ in servers.values():
            process.terminate()
            process.wait(timeout=30)

    results: dict[str, dict[str, object]] = {}
    for (name, phase), cell in cells.items():
        search = cell["search"]
        statuses: dict[str, int] = {}
        for counts in cell["statuses"]:
            for status, n in counts.items():
                statuses[str(status)] = statuses.get(str(status), 0) + n
        results.setdefault(name, {})[phase] = {
            "searches": len(search),
            "p50_ms": round(statistics.median(search), 1),
            "p99_ms": round(percentile(search, 99), 1),
            "max_ms": round(max(search), 1),
            "imports_run": sum(cell["imports"]),
            **(
                {"writes": statuses, "write_p50_ms": round(statistics.median(cell["write"]), 1)}
                if cell["write"]
                else {}
            ),
        }
    for phases_of in results.values():
        idle_p99 = phases_of["idle"]["p99_ms"]  # type: ignore[index]
        for phase in ("import", "import+writes"):
            phases_of[phase]["p99_ratio_vs_idle"] = round(phases_of[phase]["p99_ms"] / idle_p99, 2)  # type: ignore[index]
    print(
        json.dumps(
            {
                "when": datetime.now(UTC).isoformat(timespec="seconds"),
                "machine": machine(),
                "cpu_flags": cpu_flags(),
                "load_average_at_end": os.getloadavg(),
                "settings": vars(args)
                | {"before": str(args.before) if args.before else None, "work": str(work)},
                "results": results,
            },
            ensure_ascii=False,
            indent=2,
            default=str,
        )
    )


if __name__ == "__main__":
    main()
