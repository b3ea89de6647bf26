"""Benchmark: one Linear product with the weight as `transformers` lays it out ([out, in], the
product reads it transposed) vs laid out [in, out] (models/cpu_layout.py), by number of rows.

Twelve distinct [1536 x 384] weights are used in turn, so that they come from memory as in a
forward pass. The two layouts take turns per repetition; each cell is the median over
repetitions of the time per product. Prints one JSON object.

    python bench/linear_layout.py                       # rows 1,19,64,640,2000; 1 and 2 threads
    python bench/linear_layout.py --rows 19 --threads 2
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", default="1,19,64,640,2000")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--in-features", type=int, default=384)
    parser.add_argument("--out-features", type=int, default=1536)
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()

    import torch
    import torch.nn.functional as F

    layers = 12
    generator = torch.Generator().manual_seed(0)
    stock = [
        torch.randn(args.out_features, args.in_features, generator=generator) * 0.05 for _ in range(layers)
    ]
    in_out = [w.t().contiguous().t() for w in stock]  # same values and shape, [in, out] in memory
    biases = [torch.randn(args.out_features, generator=generator) for _ in range(layers)]

    cells = []
    for threads in (int(t) for t in args.threads.split(",")):
        torch.set_num_threads(threads)
        for rows in (int(r) for r in args.rows.split(",")):
            x = torch.randn(rows, args.in_features, generator=generator)
            times: dict[str, list[float]] = {"stock": [], "in_out": []}
            with torch.inference_mode():
                for repeat in range(args.repeats + 3):
                    for name, weights in (("stock", stock), ("in_out", in_out)):
                        started = time.perf_counter()
                        for weight, bias in zip(weights, biases, strict=True):
                            F.linear(x, weight, bias)
                        if repeat >= 3:  # the first repetitions warm up allocator and caches
                            times[name].append((time.perf_counter() - started) / layers)
                same = torch.equal(F.linear(x, stock[0], biases[0]), F.linear(x, in_out[0], biases[0]))
            stock_us = statistics.median(times["stock"]) * 1e6
            in_out_us = statistics.median(times["in_out"]) * 1e6
            cells.append(
                {
                    "threads": threads,
                    "rows": rows,
                    "stock_us": round(stock_us, 1),
                    "in_out_us": round(in_out_us, 1),
                    "stock_over_in_out": round(stock_us / in_out_us, 3),
                    "bitwise_equal": same,
                }
            )
    print(
        json.dumps(
            {
                "benchmark": "linear_layout",
                "shape": [args.in_features, args.out_features],
                "cells": cells,
                "machine": machine(),
                "date": datetime.now(UTC).isoformat(timespec="seconds"),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
