"""The evaluation runner on folders written here: hand-computed metrics, served hits, determinism, cache.

The tiny random BERT (`tiny_encoder`) is used where the test is about plumbing (its vectors mean
nothing, so the expected numbers are computed here from its own `encode`); the real model where the
test is about what the service would serve.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from eval.cache import VectorCache
from eval.metrics import RANKING_METRICS, STS_METRICS
from eval.report import write_report
from eval.retrieval import PrecomputedEncoder, ranking_runs
from eval.runner import SKIP_ON_STS, evaluate, evaluate_function_weights, needs_model
from eval.significance import paired_randomization_test
from eval.testset import load_testset
from eval.variants import parse_variants
from eval.vectors import pooled_vectors
from indexing.build import index_from_entries
from indexing.searcher import Searcher
from indexing.store import FaqEntry
from indexing.vector_index import IndexParams
from models.bm25 import Bm25Stats
from models.morphemes import terms

# A tiny ranking set whose lexical BM25 ranking can be worked out by hand (Kiwi terms in comments).
CORPUS = [
    ("e1", "비밀번호 변경"),  # 비밀번호/N 변경/N
    ("e2", "배송 조회"),  # 배송/N 조회/N
    ("e3", "환불 신청"),  # 환불/N 신청/N
    ("e4", "카드 분실 신청"),  # 카드/N 분실/N 신청/N: 신청 again, in a longer entry
    ("e5", "적금 이자"),  # 적금/N 이자/N: so that 신청, in 2 of 5 entries, keeps an idf above 0
]
QUERIES = [("q1", "변경"), ("q2", "환불"), ("q3", "배송 신청")]
QRELS = [("q1", "e1", 1), ("q2", "e2", 1), ("q3", "e3", 2), ("q3", "e4", 1)]
PAIRS = [
    ("한 남자가 기타를 치고 있다.", "남자가 기타를 연주한다.", 4.6),
    ("한 여자가 요리를 하고 있다.", "여자가 음식을 만들고 있다.", 4.0),
    ("아이들이 공원에서 놀고 있다.", "개가 공을 쫓아 달린다.", 0.8),
    ("비행기가 이륙하고 있다.", "비행기가 하늘로 날아오른다.", 4.2),
    ("남자가 말을 타고 있다.", "여자가 피아노를 치고 있다.", 0.2),
    ("고양이가 잠을 자고 있다.", "고양이가 소파에서 자고 있다.", 3.8),
]


def write_ranking(folder: Path, corpus=CORPUS, queries=QUERIES, qrels=QRELS) -> Path:
    folder.mkdir(parents=True)
    lines = [json.dumps({"id": i, "text": t}, ensure_ascii=False) for i, t in corpus]
    (folder / "corpus.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    lines = [json.dumps({"id": i, "text": t}, ensure_ascii=False) for i, t in queries]
    (folder / "queries.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    rows = ["query_id\tentry_id\tgrade", *(f"{q}\t{e}\t{g}" for q, e, g in qrels)]
    (folder / "qrels.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return folder


def write_sts(folder: Path) -> Path:
    folder.mkdir(parents=True)
    lines = [json.dumps({"a": a, "b": b, "score": s}, ensure_ascii=False) for a, b, s in PAIRS]
    (folder / "pairs.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def by_variant(report) -> dict:
    return {r.variant: r for r in report.results}


def test_lexical_metrics_equal_the_hand_computed_ones(tmp_path):
    testset = load_testset(write_ranking(tmp_path / "tiny"))
    variants = parse_variants("bm25_lexical")
    assert not needs_model(variants, testset)
    # q1 "변경": only e1 shares a term.  q2 "환불": only e3 (its relevant e2 shares none).
    # q3 "배송 신청": e2 (배송: in one entry, higher idf) > e3 (신청) > e4 (신청 in a longer entry).
    runs = ranking_runs(testset, variants, None)
    assert runs == {"bm25_lexical": {"q1": ["e1"], "q2": ["e3"], "q3": ["e2", "e3", "e4"]}}
    report = evaluate(testset, variants, baseline="bm25_lexical")
    # q1: first relevant at rank 1; q2: none; q3: relevant e3 (grade 2) at rank 2, e4 (grade 1) at 3.
    ndcg_q3 = (2 / math.log2(3) + 1 / math.log2(4)) / (2 / math.log2(2) + 1 / math.log2(3))
    expected = {
        "mrr@10": (1 + 0 + 1 / 2) / 3,
        "recall@1": (1 + 0 + 0) / 3,
        "recall@5": (1 + 0 + 2 / 2) / 3,
        "recall@10": (1 + 0 + 2 / 2) / 3,
        "ndcg@10": (1 + 0 + ndcg_q3) / 3,
    }
    (result,) = report.results
    assert result.metrics == {m: round(v, 6) for m, v in expected.items()}
    assert result.p_vs_baseline is None and result.delta_vs_baseline is None
    assert report.model is None  # no neural model was needed
    assert (report.testset, report.kind, report.size, report.baseline) == (
        "tiny",
        "ranking",
        3,
        "bm25_lexical",
    )
    # three queries: the bootstrap means are 0, 1/3, 2/3 or 1 times the per-query values' mix
    low, high = result.ci95["recall@1"]
    assert (low, high) == (0.0, 1.0)


# The query shares 주차 with e0 and only 어디 / 하 plus particles and endings with e1 and e5.
PARKING_CORPUS = [
    ("e0", "주차 요금은 얼마예요?"),
    ("e1", "방문요양 서비스가 필요할 때 어디에 문의해야 하나요?"),
    ("e2", "회원 가입은 어떻게 하나요?"),
    ("e3", "환불은 언제 되나요?"),
    ("e4", "영업시간을 알려 주세요"),
    ("e5", "서류는 어디에서 받나요?"),
]


def test_function_weights_are_compared_variant_by_variant(tmp_path):
    folder = write_ranking(
        tmp_path / "parking", PARKING_CORPUS, [("q1", "주차는 어디에 하나요?")], [("q1", "e0", 1)]
    )
    testset = load_testset(folder)
    report = evaluate_function_weights(
        testset, parse_variants("bm25_lexical"), [1.0, 0.0], baseline="bm25_lexical"
    )
    # Lexical ranks (tests/models/test_function_weights.py): factor 1 e5, e1, e0; factor 0 e0 first.
    results = by_variant(report)
    assert list(results) == ["bm25_lexical [fw=1]", "bm25_lexical [fw=0]"]
    assert results["bm25_lexical [fw=1]"].metrics["mrr@10"] == round(1 / 3, 6)
    assert results["bm25_lexical [fw=0]"].metrics["mrr@10"] == 1.0
    assert report.baseline == "bm25_lexical [fw=1]"
    # One query: flipping its sign leaves |mean difference| as it is, so p = 1.
    assert report.function_weights == [
        {
            "variant": "bm25_lexical",
            "function_weight": 0.0,
            "against": 1.0,
            "metric": "mrr@10",
            "delta": round(2 / 3, 6),
            "p": 1.0,
        }
    ]
    write_report(report, tmp_path / "out")
    markdown = (tmp_path / "out/report.md").read_text(encoding="utf-8")
    assert "| `bm25_lexical` | 0 | +0.6667 | 1.000 |" in markdown


def cosine_runs(encoder, testset, pooling, bm25=None):
    corpus = encoder.encode([e.text for e in testset.corpus], pooling, bm25=bm25).vectors
    queries = encoder.encode([q.text for q in testset.queries], pooling, bm25=bm25).vectors
    scores = queries @ corpus.T  # [Q, N]
    return {
        q.id: [testset.corpus[j].id for j in np.argsort(-scores[i], kind="stable")[:10]]
        for i, q in enumerate(testset.queries)
    }


def hand_metrics(run, qrels):
    """The five metrics written out, per query, as in eval/metrics.py's docstring."""
    per_query = {m: [] for m in RANKING_METRICS}
    for query_id, judged in sorted(qrels.items()):
        ranks = [r + 1 for r, e in enumerate(run[query_id][:10]) if e in judged]
        per_query["mrr@10"].append(1 / ranks[0] if ranks else 0.0)
        for k in (1, 5, 10):
            per_query[f"recall@{k}"].append(sum(r <= k for r in ranks) / len(judged))
        dcg = sum(judged[run[query_id][r - 1]] / math.log2(r + 1) for r in ranks)
        ideal = sorted(judged.values(), reverse=True)
        per_query["ndcg@10"].append(dcg / sum(g / math.log2(i + 2) for i, g in enumerate(ideal)))
    return {m: np.array(v) for m, v in per_query.items()}


def test_dense_variants_score_the_encoders_own_cosine_ranking(tmp_path, tiny_encoder):
    testset = load_testset(write_ranking(tmp_path / "tiny"))
    report = evaluate(testset, parse_variants("max,bm25"), baseline="mean", encoder=tiny_encoder)
    assert [r.variant for r in report.results] == ["mean", "max", "bm25"]  # the baseline is added first
    bm25 = Bm25Stats.fit(terms([e.text for e in testset.corpus]))  # as the index fits it
    per_query = {
        name: hand_metrics(cosine_runs(tiny_encoder, testset, name, bm25), testset.qrels)
        for name in ("mean", "max", "bm25")
    }
    results = by_variant(report)
    for name, values in per_query.items():
        assert results[name].metrics == {m: round(float(values[m].mean()), 6) for m in RANKING_METRICS}
    for name in ("max", "bm25"):
        assert results[name].delta_vs_baseline == {
            m: round(float((per_query[name][m] - per_query["mean"][m]).mean()), 6) for m in RANKING_METRICS
        }
        assert results[name].p_vs_baseline == {
            m: round(paired_randomization_test(per_query[name][m], per_query["mean"][m]), 6)
            for m in RANKING_METRICS
        }
    assert report.model == {
        "name": tiny_encoder.name,
        "sha256": tiny_encoder.fingerprint,
        "prefix": "",
        "entry_prefix": "",
        "max_length": tiny_encoder.max_length,
        "precision": "fp32",
    }


def test_sts_scores_the_cosine_of_each_pair_and_skips_ranking_variants(tmp_path, tiny_encoder):
    testset = load_testset(write_sts(tmp_path / "pairs"))
    report = evaluate(testset, parse_variants("bm25,bm25_lexical,rrf:mean"), encoder=tiny_encoder)
    assert report.skipped == [
        {"variant": "bm25_lexical", "reason": SKIP_ON_STS},
        {"variant": "rrf:mean:k=60", "reason": SKIP_ON_STS},
    ]
    sentences = list(dict.fromkeys(s for a, b, _ in PAIRS for s in (a, b)))
    bm25 = Bm25Stats.fit(terms(sentences))  # an STS set is its own corpus
    gold = [s for _, _, s in PAIRS]
    for result in report.results:
        a = tiny_encoder.encode([p[0] for p in PAIRS], result.variant, bm25=bm25).vectors
        b = tiny_encoder.encode([p[1] for p in PAIRS], result.variant, bm25=bm25).vectors
        cosine = (a * b).sum(axis=1)
        assert result.metrics == pytest.approx(
            {
                "spearman": stats.spearmanr(cosine, gold).statistic,
                "pearson": stats.pearsonr(cosine, gold).statistic,
            },
            abs=2e-6,  # float32 vectors summed in another order, then rounded to 6 places
        )
        assert set(result.ci95) == set(STS_METRICS)
    assert by_variant(report)["bm25"].p_vs_baseline.keys() == set(STS_METRICS)
    with pytest.raises(ValueError, match="baseline 'bm25_lexical' does not apply to an STS set"):
        evaluate(testset, parse_variants("mean"), baseline="bm25_lexical", encoder=tiny_encoder)


def test_a_rerun_is_identical_and_reads_every_vector_from_the_cache(tmp_path, tiny_encoder, monkeypatch):
    testset = load_testset(write_ranking(tmp_path / "tiny"))
    variants = parse_variants("all")
    forward_passes = []
    real_iter_hidden = tiny_encoder.iter_hidden

    def counting(*args, **kwargs):
        forward_passes.append(1)
        return real_iter_hidden(*args, **kwargs)

    monkeypatch.setattr(tiny_encoder, "iter_hidden", counting)
    outputs = []
    for run in range(2):
        with VectorCache(tmp_path / "cache") as cache:
            report = evaluate(testset, variants, encoder=tiny_encoder, cache=cache)
        if run == 0:
            assert forward_passes, "the cold run must encode"
            forward_passes.clear()
        paths = write_report(report, tmp_path / f"out{run}")
        outputs.append([p.read_bytes() for p in paths])
    assert forward_passes == []  # warm: not one forward pass
    assert outputs[0] == outputs[1]  # report.json, report.md and report.png byte for byte
    # and without any cache the numbers are the same again
    assert evaluate(testset, variants, encoder=tiny_encoder).to_json() == json.loads(outputs[0][0])


SAMPLE = Path(__file__).resolve().parents[2] / "testsets/sample_faq/faqs.jsonl"
SERVED_QUERIES = [
    "비밀번호를 잊어버렸어요",
    "로그인이 안 돼요",
    "기초연금은 누가 받을 수 있나요?",
    "장애인 활동 지원 신청 방법",
    "아이디 찾기",
    "회원 탈퇴는 어떻게 하나요",
]


def test_offline_runs_are_the_hits_the_service_serves(tmp_path, real_encoder):
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()
    faqs = [json.loads(line) for line in lines[:24]]  # the 8 hand-written site-* entries, 16 welfare ones
    corpus = [(f["id"], f["question"]) for f in faqs]
    queries = [(f"q{i}", text) for i, text in enumerate(SERVED_QUERIES)]
    qrels = [(q, corpus[0][0], 1) for q, _ in queries]  # judgements do not matter here
    testset = load_testset(write_ranking(tmp_path / "faq", corpus, queries, qrels))
    variants = parse_variants("mean,bm25,mean_with_padding,bm25_lexical,rrf:mean:k=60,convex:bm25:w=0.7")
    poolings = ["mean", "bm25", "mean_with_padding"]
    texts = [t for _, t in corpus] + [t for _, t in queries]
    bm25 = Bm25Stats.fit(terms([t for _, t in corpus]))
    vectors = pooled_vectors(real_encoder, texts, poolings, bm25=bm25)
    source = PrecomputedEncoder(
        vectors,
        dim=real_encoder.dim,
        name=real_encoder.name,
        fingerprint=real_encoder.fingerprint,
        prefix=real_encoder.prefix,
        max_length=real_encoder.max_length,
        bm25=bm25,
    )
    runs = ranking_runs(testset, variants, source)
    entries = [FaqEntry(id=i, question=t) for i, t in corpus]
    # the service: its own index build per pooling and its own search, the model run on every text
    indexes = {p: index_from_entries(entries, real_encoder, p, IndexParams())[0] for p in poolings}
    for variant in variants:
        searcher = Searcher(
            real_encoder,
            indexes[variant.pooling or "mean"],
            rrf_k=variant.rrf_k,
            fusion=variant.fusion,
            hybrid_weight=variant.weight,
        )
        served = searcher.search([t for _, t in queries], top_k=10, mode=variant.search_mode)
        assert runs[variant.name] == {
            q: [h.id for h in row] for (q, _), row in zip(queries, served, strict=True)
        }
    assert runs["mean"]["q0"][0] == "site-001"  # and the real model finds the password entry first


def test_entry_views_compare_each_variant_with_itself(tmp_path):
    from eval.retrieval import parse_view
    from eval.runner import evaluate_views
    from eval.testset import CorpusEntry, Query, RankingSet

    # The queries are the alternates word for word and share no morpheme with any question.
    testset = RankingSet(
        "views",
        [
            CorpusEntry("e0", "비밀번호를 바꾸고 싶어요", alternates=("암호 변경",)),
            CorpusEntry("e1", "택배가 언제 오나요", alternates=("배송 조회",)),
            CorpusEntry("e2", "환불은 며칠 걸려요"),
        ],
        [Query("q1", "암호 변경"), Query("q2", "배송 조회")],
        {"q1": {"e0": 1}, "q2": {"e1": 1}},
    )
    views = {"question": parse_view("question"), "alternates": parse_view("alternates")}
    report = evaluate_views(testset, parse_variants("bm25_lexical"), views, baseline="bm25_lexical")
    results = by_variant(report)
    assert results["bm25_lexical [question]"].metrics["mrr@10"] == 0.0  # nothing found
    assert results["bm25_lexical [alternates]"].metrics["mrr@10"] == 1.0
    [row] = report.views
    # two queries, both +1: of the 4 sign assignments 2 reach |mean| 1
    assert row == {
        "variant": "bm25_lexical",
        "view": "alternates",
        "against": "question",
        "metric": "mrr@10",
        "delta": 1.0,
        "p": row["p"],
    }
    assert row["p"] == pytest.approx(0.5, abs=0.02)
    write_report(report, tmp_path / "out")
    markdown = (tmp_path / "out/report.md").read_text(encoding="utf-8")
    assert "| `bm25_lexical` | alternates | +1.0000 |" in markdown
