"""Check: the packed forward (models/packed.py) leaves vectors and evaluation numbers unchanged.

Encodes a ranking test set's corpus and queries twice with the same loaded model, packing every
batch that has padding (MIN_PADDING_TO_PACK = 0) and with the model's own padded forward, for
every named pooling variant; ranks the corpus for each query by cosine (exact) and scores the
rankings with eval.metrics. Prints the largest vector difference and, per variant and metric,
both means and their difference (the acceptance: within 1e-4; vectors within 1e-5).

    python bench/packed_eval.py --testset stylekqc
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    sys.path.insert(0, str(REPO_ROOT))
    from bench.common import DEFAULT_MODEL, log, machine

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default=str(DEFAULT_MODEL), help="model folder (default: %(default)s)")
    parser.add_argument(
        "--testset", default="stylekqc", help="ranking set under testsets/ (default: %(default)s)"
    )
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads")
    args = parser.parse_args(argv)

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import copy

    import numpy as np
    import torch

    import models.packed
    from eval.metrics import ranking_metrics
    from eval.testset import RankingSet, load_testset
    from models.bm25 import Bm25Stats
    from models.encoder import Encoder
    from models.morphemes import terms
    from models.pooling_spec import NAMED_VARIANTS

    if args.threads:
        torch.set_num_threads(args.threads)
    testset = load_testset(REPO_ROOT / "testsets" / args.testset)
    if not isinstance(testset, RankingSet):
        parser.error(f"{args.testset} is not a ranking test set")
    corpus = [entry.text for entry in testset.corpus]
    queries = [query.text for query in testset.queries]
    packed = Encoder.load(args.model, device="cpu", batch_size=args.batch_size)
    padded = copy.copy(packed)  # same weights, the model's own forward
    padded.packed_model = None
    models.packed.MIN_PADDING_TO_PACK = 0.0  # pack every batch that has any padding
    bm25 = Bm25Stats.fit(terms(corpus))

    def run(encoder: Encoder) -> tuple[dict[str, dict[str, float]], dict[str, np.ndarray]]:
        docs = encoder.encode_variants(corpus, NAMED_VARIANTS, bm25=bm25)
        asked = encoder.encode_variants(queries, NAMED_VARIANTS, bm25=bm25)
        scores, vectors = {}, {}
        for name in NAMED_VARIANTS:
            similarity = asked[name].vectors @ docs[name].vectors.T  # [Q, C]
            top = np.argsort(-similarity, axis=1, kind="stable")[:, :10]
            ranking = {
                q.id: [testset.corpus[j].id for j in row] for q, row in zip(testset.queries, top, strict=True)
            }
            scores[name] = {m: float(v.mean()) for m, v in ranking_metrics(ranking, testset.qrels).items()}
            vectors[name] = np.concatenate([docs[name].vectors, asked[name].vectors])
        return scores, vectors

    log(f"{args.testset}: {len(corpus)} entries, {len(queries)} queries; packed ...")
    packed_scores, packed_vectors = run(packed)
    log("padded ...")
    padded_scores, padded_vectors = run(padded)
    report = {
        "testset": args.testset,
        "sentences": len(corpus) + len(queries),
        "max_abs_vector_diff": {
            name: float(np.abs(packed_vectors[name] - padded_vectors[name]).max()) for name in NAMED_VARIANTS
        },
        "metrics": {
            name: {
                metric: {
                    "packed": round(value, 6),
                    "padded": round(padded_scores[name][metric], 6),
                    "diff": abs(value - padded_scores[name][metric]),
                }
                for metric, value in packed_scores[name].items()
            }
            for name in NAMED_VARIANTS
        },
        "machine": machine(),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    report["max_metric_diff"] = max(m["diff"] for v in report["metrics"].values() for m in v.values())
    print(json.dumps(report, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
