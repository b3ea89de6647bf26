"""Benchmark: encoder throughput of faqsearch's `Encoder.encode(..., "mean")` vs sentence-transformers,

for the acceptance criterion "CPU encoder throughput >= 1.5x sentence-transformers on the same work".

Same work on both sides: the same N sentences of a bundled test set (its corpus, then its queries),
normalised the same way, the same "query: " prefix (ST: prompt=), the same max length, the same
batch size, device and torch thread count, mean pooling over every real token, L2-normalised.
sentence-transformers is built explicitly as Transformer + Pooling("mean") from the model folder
(the folder has no modules.json) and sorts its inputs by length too. The vectors are compared
(max abs diff, cosine) so that the timing is of the same work.

Rounds are interleaved and the order of the contenders rotates every round; ratio_median is the
median over rounds of st_s / ours_s of the same round. On a shared machine, read loadavg_1m.

GPU (unverified on this project's CPU-only machines): `--device cuda --precision bf16` runs ours in
bf16 against ST's fp32 default (or --st-precision bf16) and reports the achieved fraction of the
GPU's dense bf16 peak (table below, or --peak-tflops). FLOPs per sentence of T tokens:
2 * non-embedding parameters * T (matrix products) + 4 * layers * hidden * T^2 (QK^T and AV).

    python bench/encoder.py                                  # CPU, 2000 welfare sentences, 5 rounds
    python bench/encoder.py --threads 1 --with-unpacked      # also ours without the packed forward
    python bench/encoder.py --batch-size 1 --sentences 200 --with-stock-layout   # one sentence a call
    python bench/encoder.py --threads 1 --with-compiled      # also ours through torch.compile (tried, not used)
    python bench/encoder.py --device cuda --precision bf16   # GPU (unverified)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

# Dense (no sparsity) peak TFLOP/s by GPU name substring and dtype, from NVIDIA's datasheets;
# fp32 is the non-tensor-core rate. Pass --peak-tflops for any other device.
PEAK_TFLOPS = {
    "H100 PCIe": {"bf16": 756.0, "fp16": 756.0, "fp32": 51.2},
    "H100": {"bf16": 989.4, "fp16": 989.4, "fp32": 66.9},  # SXM / HBM3
    "H200": {"bf16": 989.4, "fp16": 989.4, "fp32": 66.9},
}


def peak_tflops(device_name: str, precision: str) -> float | None:
    for key, peaks in PEAK_TFLOPS.items():  # "H100 PCIe" before "H100"
        if key in device_name:
            return peaks.get(precision)
    return None


def load_sentence_transformer(model: str, max_length: int, device: str, precision: str):
    """Transformer + mean Pooling, built explicitly so the pooling is known whatever the folder holds."""
    import torch
    from sentence_transformers import SentenceTransformer

    try:  # sentence-transformers >= 6
        from sentence_transformers.base.modules import Transformer
        from sentence_transformers.sentence_transformer.modules import Pooling
    except ImportError:
        from sentence_transformers.models import Pooling, Transformer

    model_kwargs = (
        {} if precision == "fp32" else {"dtype": {"bf16": torch.bfloat16, "fp16": torch.float16}[precision]}
    )
    transformer = Transformer(model, max_seq_length=max_length, model_kwargs=model_kwargs)
    dimension = (
        getattr(transformer, "get_embedding_dimension", None) or transformer.get_word_embedding_dimension
    )
    pooling = Pooling(dimension(), pooling_mode="mean")
    return SentenceTransformer(modules=[transformer, pooling], device=device)


def flops_per_pass(lengths: list[int], non_embedding_params: int, layers: int, hidden: int) -> float:
    """Useful FLOPs of one forward over sentences of these token lengths (padding not counted)."""
    return float(sum(2 * non_embedding_params * t + 4 * layers * hidden * t * t for t in lengths))


def main(argv: list[str] | None = None) -> int:
    sys.path.insert(0, str(REPO_ROOT))
    from bench.common import DEFAULT_MODEL, cpu_flags, log, machine, testset_sentences

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default=str(DEFAULT_MODEL), help="model folder (default: %(default)s)")
    parser.add_argument(
        "--testset", default="welfare", help="test set under testsets/ (default: %(default)s)"
    )
    parser.add_argument(
        "--sentences", type=int, default=2000, help="sentences per pass (default: %(default)s)"
    )
    parser.add_argument(
        "--batch-size", type=int, default=64, help="both sides' batch size (default: %(default)s)"
    )
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds (default: %(default)s)")
    parser.add_argument("--device", default="cpu", help="cpu | cuda | cuda:N (default: %(default)s)")
    parser.add_argument(
        "--precision", default="auto", help="ours: auto | fp32 | bf16 | int8 | fp16 (default: %(default)s)"
    )
    parser.add_argument(
        "--st-precision", default="fp32", help="sentence-transformers' (default: %(default)s)"
    )
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    parser.add_argument("--peak-tflops", type=float, default=None, help="device peak for --precision")
    parser.add_argument(
        "--alternate",
        action="store_true",
        help="take corpus entries and queries in turn (with --sentences = --batch-size: one mixed batch)",
    )
    parser.add_argument(
        "--with-unpacked", action="store_true", help="also time ours with the model's own padded forward"
    )
    parser.add_argument(
        "--with-st-bf16",
        action="store_true",
        help="also time sentence-transformers with its model cast to bf16 (st_bf16)",
    )
    parser.add_argument(
        "--with-precisions",
        default="",
        help="also time ours in these precisions, comma-separated (ours_fp32, ours_int8, ...)",
    )
    parser.add_argument(
        "--with-stock-layout",
        action="store_true",
        help="also time ours with the Linear weights as transformers lays them out ([out, in], cpu_layout.py)",
    )
    parser.add_argument(
        "--with-compiled",
        action="store_true",
        help="also time ours with the model's padded forward through torch.compile (inductor, freezing, "
        "dynamic shapes); compiling time is reported apart and needs a C++ compiler",
    )
    args = parser.parse_args(argv)
    if args.sentences < 1 or args.rounds < 1 or args.batch_size < 1:
        parser.error("--sentences, --rounds and --batch-size must be at least 1")

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import numpy as np
    import torch

    from models.encoder import Encoder

    if args.threads:
        torch.set_num_threads(args.threads)
    sentences = testset_sentences(args.testset, args.sentences, alternate=args.alternate)
    ours = Encoder.load(args.model, device=args.device, precision=args.precision, batch_size=args.batch_size)
    st = load_sentence_transformer(args.model, ours.max_length, str(ours.device), args.st_precision)
    contenders = {
        "ours": lambda: ours.encode(sentences, "mean").vectors,
        "st": lambda: st.encode(
            sentences, prompt=ours.prefix, batch_size=args.batch_size, normalize_embeddings=True
        ),
    }
    if args.with_st_bf16:
        st_bf16 = load_sentence_transformer(args.model, ours.max_length, str(ours.device), "bf16")
        contenders["st_bf16"] = lambda: st_bf16.encode(
            sentences, prompt=ours.prefix, batch_size=args.batch_size, normalize_embeddings=True
        )
    for extra in (p.strip() for p in args.with_precisions.split(",") if p.strip()):
        other = Encoder.load(args.model, device=args.device, precision=extra, batch_size=args.batch_size)
        contenders[f"ours_{extra}"] = lambda other=other: other.encode(sentences, "mean").vectors
    if args.with_unpacked:
        padded = Encoder.load(
            args.model, device=args.device, precision=args.precision, batch_size=args.batch_size, packed=False
        )
        contenders["ours_unpacked"] = lambda: padded.encode(sentences, "mean").vectors
    if args.with_stock_layout:
        stock_layout = Encoder.load(
            args.model, device=args.device, precision=args.precision, batch_size=args.batch_size
        )
        with torch.no_grad():
            for module in stock_layout.model.modules():
                if isinstance(module, torch.nn.Linear):
                    module.weight.data = module.weight.data.contiguous()  # back to [out, in] in memory
        contenders["ours_stock_layout"] = lambda: stock_layout.encode(sentences, "mean").vectors

    compile_seconds = None
    if args.with_compiled:
        import torch._inductor.config as inductor_config

        inductor_config.freezing = True  # weights as constants: prepacked for oneDNN, bias/GELU fused
        compiled = Encoder.load(
            args.model, device=args.device, precision=args.precision, batch_size=args.batch_size, packed=False
        )
        compiled.model.requires_grad_(False)
        started = time.perf_counter()
        compiled.model = torch.compile(compiled.model, dynamic=True)
        compiled.encode(sentences[: 2 * args.batch_size])  # compiles (first and second batch shapes)
        compiled.encode(sentences[-args.batch_size :])
        compile_seconds = round(time.perf_counter() - started, 1)
        contenders["ours_compiled"] = lambda: compiled.encode(sentences, "mean").vectors

    def timed(name: str) -> tuple[float, float, np.ndarray]:
        """-> (wall seconds, CPU seconds of this process, vectors [N, H])"""
        if ours.device.type == "cuda":
            torch.cuda.synchronize()
        started, cpu_started = time.perf_counter(), time.process_time()
        vectors = contenders[name]()
        if ours.device.type == "cuda":
            torch.cuda.synchronize()
        took = time.perf_counter() - started
        return took, time.process_time() - cpu_started, np.asarray(vectors, dtype=np.float32)

    warm = sentences[: 2 * args.batch_size]
    ours.encode(warm)
    st.encode(warm, prompt=ours.prefix, batch_size=args.batch_size)

    names = list(contenders)
    seconds: dict[str, list[float]] = {name: [] for name in names}  # wall clock
    # CPU time of this process: with --threads 1 it counts the work done, not the time spent
    # waiting for a core that other processes hold, so it is the steadier number on a shared machine.
    cpu_seconds: dict[str, list[float]] = {name: [] for name in names}
    vectors: dict[str, np.ndarray] = {}
    loadavg: list[float] = []
    for round_ in range(args.rounds):
        order = names[round_ % len(names) :] + names[: round_ % len(names)]  # rotate who goes first
        for name in order:
            took, cpu, vectors[name] = timed(name)
            seconds[name].append(took)
            cpu_seconds[name].append(cpu)
        loadavg.append(round(os.getloadavg()[0], 2))
        log(
            f"round {round_ + 1}/{args.rounds}: "
            + ", ".join(f"{n} {seconds[n][-1]:.2f} s (cpu {cpu_seconds[n][-1]:.2f} s)" for n in names)
        )

    # The same work: the vectors agree (rows are unit length, so the dot product is the cosine).
    cosine = np.sum(vectors["ours"] * vectors["st"], axis=1)
    lengths = [len(ids) for ids in ours.tokenize(sentences).input_ids]
    non_embedding = sum(
        p.numel() for n, p in ours.model.named_parameters() if not n.startswith("embeddings.")
    )
    flops = flops_per_pass(lengths, non_embedding, ours.num_layers, ours.dim)
    device_name = machine().get("gpu", "cpu") if ours.device.type == "cuda" else "cpu"
    peak = args.peak_tflops or (
        peak_tflops(str(device_name), args.precision) if ours.device.type == "cuda" else None
    )
    best_ours = min(seconds["ours"])

    def ratio(other: str, base: str = "ours", table: dict[str, list[float]] = seconds) -> dict[str, object]:
        """table[other] / table[base]: median of the per-round ratios, and of the fastest rounds."""
        per_round = [o / s for o, s in zip(table[other], table[base], strict=True)]
        return {
            "median": round(statistics.median(per_round), 4),
            "per_round": [round(x, 4) for x in per_round],
            "of_minimums": round(min(table[other]) / min(table[base]), 4),
        }

    report: dict[str, object] = {
        "testset": args.testset,
        "alternate": args.alternate,
        "sentences": len(sentences),
        "tokens": {"real": sum(lengths), "mean": round(sum(lengths) / len(lengths), 1), "max": max(lengths)},
        "model": args.model,
        "prefix": ours.prefix,
        "batch_size": args.batch_size,
        "device": str(ours.device),
        "precision": {"ours": ours.precision, "ours_setting": args.precision, "st": args.st_precision},
        "cpu_flags": cpu_flags(),
        "packed_forward": ours.packed_model is not None,
        "seconds": {n: [round(x, 3) for x in s] for n, s in seconds.items()},
        "sentences_per_s_median": {
            n: round(len(sentences) / statistics.median(s), 1) for n, s in seconds.items()
        },
        "cpu_seconds": {n: [round(x, 3) for x in s] for n, s in cpu_seconds.items()},
        "ratio_st_over_ours": ratio("st"),
        "ratio_st_over_ours_cpu": ratio("st", table=cpu_seconds),
        "acceptance_min_ratio": 1.5,
        "agreement": {
            "max_abs_diff": float(np.abs(vectors["ours"] - vectors["st"]).max()),
            "min_cosine": round(float(cosine.min()), 7),
            "mean_cosine": round(float(cosine.mean()), 7),
        },
        "flops": {
            "non_embedding_params": non_embedding,
            "per_pass_gflop": round(flops / 1e9, 1),
            "ours_achieved_tflops": round(flops / best_ours / 1e12, 4),
            # Per CPU-second: with --threads 1 on a shared machine, what one core delivers.
            "ours_achieved_tflops_per_cpu_s": round(flops / min(cpu_seconds["ours"]) / 1e12, 4),
            "peak_tflops": peak,
            "ours_fraction_of_peak": round(flops / best_ours / 1e12 / peak, 4) if peak else None,
        },
        "loadavg_1m": loadavg,
        "machine": machine(),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    for name in seconds:
        if name not in ("ours", "st"):
            report[f"ratio_{name}_over_ours"] = ratio(name)
            report[f"ratio_{name}_over_ours_cpu"] = ratio(name, table=cpu_seconds)
            report[f"min_cosine_{name}_vs_ours"] = round(
                float(np.sum(vectors["ours"] * vectors[name], axis=1).min()), 7
            )
    if "ours_unpacked" in seconds:
        report["ratio_unpacked_over_ours"] = ratio("ours_unpacked")
        report["ratio_unpacked_over_ours_cpu"] = ratio("ours_unpacked", table=cpu_seconds)
        report["ratio_st_over_unpacked_cpu"] = ratio("st", "ours_unpacked", cpu_seconds)
    if "ours_stock_layout" in seconds:
        report["ratio_stock_layout_over_ours"] = ratio("ours_stock_layout")
        report["ratio_stock_layout_over_ours_cpu"] = ratio("ours_stock_layout", table=cpu_seconds)
        report["max_abs_diff_stock_layout"] = float(
            np.abs(vectors["ours"] - vectors["ours_stock_layout"]).max()
        )
    if "ours_compiled" in seconds:
        report["compile_seconds"] = compile_seconds
        report["ratio_ours_over_compiled_cpu"] = ratio("ours", "ours_compiled", cpu_seconds)
        report["ratio_st_over_compiled_cpu"] = ratio("st", "ours_compiled", cpu_seconds)
        report["max_abs_diff_compiled"] = float(np.abs(vectors["ours"] - vectors["ours_compiled"]).max())
    print(json.dumps(report, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
