"""Benchmark: full index rebuild vs encoding alone, for the acceptance criterion

    "rebuild of the 10k-entry set on CPU takes no more than 1.15x the time of encoding those entries alone".

Builds an FAQ set of N distinct Korean sentences from the bundled test sets (parakqc corpus and
queries first, then welfare, then stylekqc), imports it into a fresh temporary data directory with
`FaqStore`, loads one `Encoder`, warms everything up on 200 sentences (not timed), then measures,
interleaved, R times each:

    encode_s   indexing.build.encode_entries(Embedder.bind(encoder, pooling, bm25), questions)
    rebuild_s  indexing.build.build_snapshot(data_dir, encoder, pooling): re-read the store, Kiwi
               morphemes + BM25 fit, encode, build FAISS, write and switch the snapshot

and prints one JSON object to stdout (progress goes to stderr). ratio_median is the median over the
repeats of rebuild_s / encode_s of the same repeat; ratio_of_minimums is min(rebuild_s) / min(encode_s).
*_cpu_s is this process's CPU time for the same phases: with --threads 1 on a shared machine it
counts the work done, not the waiting for a core. *_peak_rss_mb is the highest resident memory of the process seen during each phase (sampled), with
the resident memory before the phase beside it. On a shared machine, check loadavg_1m (per round)
before trusting a round.

The bundled test sets hold about 22k distinct sentences. Beyond them (e.g. --entries 100000), variants
are made by putting one of a few short Korean openers (혹시, 그런데, ...) before each sentence in turn,
which adds one or two tokens; `sources` says how many sentences came from where.

    python bench/rebuild.py                       # 10k entries: several minutes on 2 cores
    python bench/rebuild.py --entries 1000 --repeats 3
    python bench/rebuild.py --entries 100000      # 15 to 25 minutes per phase on one core here
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL = REPO_ROOT.parent / "shared" / "models" / "me5-small-koen"
# (test set, file) in the order sentences are taken from them.
SOURCES = [
    ("parakqc", "corpus.jsonl"),
    ("parakqc", "queries.jsonl"),
    ("welfare", "corpus.jsonl"),
    ("welfare", "queries.jsonl"),
    ("stylekqc", "corpus.jsonl"),
    ("stylekqc", "queries.jsonl"),
]
WARMUP_SENTENCES = 200
# Openers that make distinct variants of the bundled sentences once those run out.
VARIANT_OPENERS = ("혹시", "그런데", "저기요", "궁금한데", "다시 묻는데", "참고로", "급한데", "질문인데")


def faq_sentences(count: int) -> tuple[list[str], dict[str, int]]:
    """The first `count` distinct (after normalisation) sentences of SOURCES, then variants of them
    (see VARIANT_OPENERS), and how many came from each."""
    from models.text import normalize_text

    seen: set[str] = set()
    sentences: list[str] = []
    used: dict[str, int] = {}
    for name, file in SOURCES:
        path = REPO_ROOT / "testsets" / name / file
        taken = 0
        with path.open(encoding="utf-8") as lines:
            for line in lines:
                if len(sentences) >= count:
                    break
                text = normalize_text(json.loads(line)["text"])
                if text and text not in seen:
                    seen.add(text)
                    sentences.append(text)
                    taken += 1
        if taken:
            used[f"{name}/{file}"] = taken
        if len(sentences) >= count:
            return sentences, used
    base = list(sentences)
    for opener in VARIANT_OPENERS:
        taken = 0
        for text in base:
            if len(sentences) >= count:
                break
            variant = f"{opener} {text}"
            if variant not in seen:
                seen.add(variant)
                sentences.append(variant)
                taken += 1
        used[f"variants/{opener}"] = taken
        if len(sentences) >= count:
            return sentences, used
    raise SystemExit(f"only {len(sentences)} distinct sentences and variants can be made; asked for {count}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default=str(DEFAULT_MODEL), help="model folder (default: %(default)s)")
    parser.add_argument("--entries", type=int, default=10_000, help="FAQ entries (default: %(default)s)")
    parser.add_argument("--pooling", default="mean", help="pooling variant (default: %(default)s)")
    parser.add_argument("--repeats", type=int, default=1, help="timed rounds of each (default: %(default)s)")
    parser.add_argument("--device", default="cpu", help="encoder device (default: %(default)s)")
    parser.add_argument(
        "--batch-size", type=int, default=64, help="encoder batch size (default: %(default)s)"
    )
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    parser.add_argument(
        "--precision",
        default="fp32",
        help="encoder precision: fp32 | bf16 | int8 | auto (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    if args.entries < 1 or args.repeats < 1:
        parser.error("--entries and --repeats must be at least 1")

    sys.path.insert(0, str(REPO_ROOT))
    import faiss  # noqa: F401  # imported here so the first rebuild does not pay for it

    from bench.common import PeakRss, log, machine
    from indexing.build import build_snapshot, encode_entries
    from indexing.store import FaqEntry, FaqStore
    from models.bm25 import Bm25Stats
    from models.embedder import Embedder
    from models.encoder import Encoder
    from models.morphemes import terms
    from models.pooling_spec import parse_pooling

    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    spec = parse_pooling(args.pooling)
    questions, used = faq_sentences(args.entries)
    log(f"{len(questions)} sentences from {used}")
    encoder = Encoder.load(
        args.model, device=args.device, precision=args.precision, batch_size=args.batch_size
    )
    # BM25 pooling weighs tokens with the corpus statistics; the rebuild fits them itself (timed),
    # encoding alone gets them fitted beforehand (not timed).
    bm25 = Bm25Stats.fit(terms(questions)) if spec.needs_bm25 else None

    with tempfile.TemporaryDirectory(prefix="faqsearch-bench-") as tmp:
        data_dir = Path(tmp) / "data"
        with FaqStore.open(data_dir) as store:
            store.upsert_many(FaqEntry(id=f"bench-{i:05d}", question=q) for i, q in enumerate(questions))
            assert store.count() == len(questions)

        # Warm-up, not timed: Kiwi's model (the rebuild analyses morphemes whatever the pooling),
        # the encoder's first batches, FAISS.
        warm = questions[:WARMUP_SENTENCES]
        warm_bm25 = Bm25Stats.fit(terms(warm))
        encode_entries(Embedder.bind(encoder, spec, warm_bm25), warm)
        loadavg: list[float] = []

        encode_s: list[float] = []
        rebuild_s: list[float] = []
        encode_in_rebuild_s: list[float] = []
        encode_cpu_s: list[float] = []
        rebuild_cpu_s: list[float] = []
        encode_rss: list[PeakRss] = []
        rebuild_rss: list[PeakRss] = []
        for round_ in range(args.repeats):
            started, cpu = time.perf_counter(), time.process_time()
            with PeakRss() as peak:
                vectors = encode_entries(Embedder.bind(encoder, spec, bm25), questions)
            encode_s.append(time.perf_counter() - started)
            encode_cpu_s.append(time.process_time() - cpu)
            encode_rss.append(peak)
            assert vectors.shape == (len(questions), encoder.dim)
            del vectors
            started, cpu = time.perf_counter(), time.process_time()
            with PeakRss() as peak:
                result = build_snapshot(data_dir, encoder, args.pooling)
            rebuild_s.append(time.perf_counter() - started)
            rebuild_cpu_s.append(time.process_time() - cpu)
            rebuild_rss.append(peak)
            encode_in_rebuild_s.append(result.encode_seconds)
            assert result.count == len(questions)
            loadavg.append(round(os.getloadavg()[0], 2))
            log(
                f"round {round_ + 1}/{args.repeats}: encode {encode_s[-1]:.2f} s, rebuild {rebuild_s[-1]:.2f} s "
                f"(of which encoding {result.encode_seconds:.2f} s)"
            )

    ratios = [r / e for r, e in zip(rebuild_s, encode_s, strict=True)]
    report = {
        "entries": len(questions),
        "model": args.model,
        "pooling": spec.name,
        "precision": encoder.precision,
        "device": str(encoder.device),
        "batch_size": args.batch_size,
        "encode_s": [round(x, 3) for x in encode_s],
        "rebuild_s": [round(x, 3) for x in rebuild_s],
        "encode_in_rebuild_s": [round(x, 3) for x in encode_in_rebuild_s],
        "ratio_median": round(statistics.median(ratios), 4),
        "encode_cpu_s": [round(x, 3) for x in encode_cpu_s],
        "rebuild_cpu_s": [round(x, 3) for x in rebuild_cpu_s],
        "ratio_cpu_median": round(
            statistics.median(r / e for r, e in zip(rebuild_cpu_s, encode_cpu_s, strict=True)), 4
        ),
        "ratios": [round(x, 4) for x in ratios],
        # Fastest rebuild over fastest encoding: the least disturbed by other processes.
        "ratio_of_minimums": round(min(rebuild_s) / min(encode_s), 4),
        "acceptance_max_ratio": 1.15,
        # 1-minute load average after each round: well above the core count, other processes
        # competed for the CPU during it and its timings are suspect.
        "loadavg_1m": loadavg,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),  # KiB on Linux
        # Per phase: the highest sampled RSS during it, and the RSS when it started (MiB).
        "encode_peak_rss_mb": [round(p.peak_bytes / 2**20, 1) for p in encode_rss],
        "encode_start_rss_mb": [round(p.start_bytes / 2**20, 1) for p in encode_rss],
        "rebuild_peak_rss_mb": [round(p.peak_bytes / 2**20, 1) for p in rebuild_rss],
        "rebuild_start_rss_mb": [round(p.start_bytes / 2**20, 1) for p in rebuild_rss],
        "sources": used,
        "machine": machine(),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    print(json.dumps(report, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
