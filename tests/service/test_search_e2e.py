"""End to end over HTTP: search, batch search, rank and embed against a real uvicorn server."""

from __future__ import annotations

import json
import logging
import time
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import pytest
from service_helpers import offline_searcher

REPO_ROOT = Path(__file__).resolve().parents[2]


def _welfare_queries(n: int) -> list[str]:
    lines = (REPO_ROOT / "testsets/welfare/queries.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["text"] for line in lines[:n]]


def test_search_finds_the_password_faq_first_and_nfd_gives_the_same_answer(served):
    nfc = served.client.post("/v1/search", json={"query": "비밀번호를 잊어버렸어요", "top_k": 3}).json()
    assert [h["rank"] for h in nfc["hits"]] == [1, 2, 3]
    assert nfc["hits"][0]["id"] == "site-001"
    assert nfc["hits"][0]["question"] == "비밀번호를 잊어버렸어요. 어떻게 찾나요?"
    assert nfc["hits"][0]["answer"].startswith("로그인 화면에서 '비밀번호 찾기'")
    assert nfc["index_version"] == "v000001"
    assert nfc["mode"] == "hybrid"  # the default (FAQSEARCH_SEARCH_MODE)
    nfd_query = unicodedata.normalize("NFD", "비밀번호를 잊어버렸어요")
    assert nfd_query != "비밀번호를 잊어버렸어요"
    nfd = served.client.post("/v1/search", json={"query": nfd_query, "top_k": 3}).json()
    assert [(h["id"], h["score"]) for h in nfd["hits"]] == [(h["id"], h["score"]) for h in nfc["hits"]]


def test_served_hits_equal_the_searcher_called_directly(serve_tiny, tiny_encoder):
    """Acceptance 2: 300 welfare queries, sent by 8 concurrent clients (so micro-batching mixes
    them into shared forward passes), in every mode, equal an offline Searcher over the same data.
    Micro-batching and the HTTP path are the subject, not the rankings: the tiny random model."""
    served = serve_tiny()
    queries = _welfare_queries(300)
    offline = offline_searcher(served, tiny_encoder)
    for mode, n in (("dense", 300), ("bm25", 60), ("hybrid", 60)):
        expected = offline.search(queries[:n], top_k=10, mode=mode)

        def ask(query: str, mode: str = mode) -> list[tuple[str, float]]:
            response = served.client.post("/v1/search", json={"query": query, "top_k": 10, "mode": mode})
            assert response.status_code == 200, response.text
            return [(h["id"], h["score"]) for h in response.json()["hits"]]

        with ThreadPoolExecutor(8) as pool:
            got = list(pool.map(ask, queries[:n]))
        for query, hits, want in zip(queries, got, expected, strict=False):
            assert [i for i, _ in hits] == [h.id for h in want], (mode, query)
            np.testing.assert_allclose([s for _, s in hits], [h.score for h in want], atol=1e-5, rtol=0)


@pytest.mark.parametrize("mode", ["dense", "bm25", "hybrid"])
def test_min_score_compares_the_cosine_in_every_mode(served, mode):
    query = {"query": "회원 탈퇴는 어떻게 하나요?", "top_k": 10, "mode": mode}
    full = served.client.post("/v1/search", json=query).json()["hits"]
    dense = served.client.post("/v1/search", json={**query, "mode": "dense", "top_k": 100}).json()["hits"]
    cosine_of = {h["id"]: h["score"] for h in dense}
    # every hit's cosine is its dense score, whatever the mode ranks by
    assert all(
        h["cosine"] == pytest.approx(cosine_of[h["id"]], abs=1e-5) for h in full if h["cosine"] is not None
    )
    if mode == "dense":
        assert all(h["cosine"] == h["score"] for h in full)
    cosines = sorted((h["cosine"] for h in full if h["cosine"] is not None), reverse=True)
    threshold = cosines[len(cosines) // 2]
    cut = served.client.post("/v1/search", json={**query, "min_score": threshold}).json()["hits"]
    kept = [h["id"] for h in full if h["cosine"] is not None and h["cosine"] >= threshold]
    # the cut keeps exactly the hits at or above the threshold, and drops some
    assert [h["id"] for h in cut] == kept and 2 <= len(kept) < len(full)
    top2 = served.client.post("/v1/search", json={**query, "top_k": 2}).json()["hits"]
    if mode != "hybrid":  # fusion's min-max normalisation depends on the depth (hybrid_depth(top_k))
        assert [h["id"] for h in top2] == [h["id"] for h in full[:2]]


def test_batch_search_equals_single_searches(served):
    queries = ["비밀번호를 잊어버렸어요", "아이디가 생각이 안 나요", "장애인 활동 지원을 받고 싶어요"]
    batch = served.client.post(
        "/v1/search/batch", json={"queries": queries, "top_k": 5, "mode": "hybrid"}
    ).json()
    assert [r["query"] for r in batch["results"]] == queries
    for query, result in zip(queries, batch["results"], strict=True):
        single = served.client.post("/v1/search", json={"query": query, "top_k": 5, "mode": "hybrid"}).json()
        # Same ranking; scores equal up to the float noise of different batch shapes.
        assert [h["id"] for h in result["hits"]] == [h["id"] for h in single["hits"]]
        np.testing.assert_allclose(
            [h["score"] for h in result["hits"]], [h["score"] for h in single["hits"]], atol=1e-5, rtol=0
        )


def test_explain_returns_query_terms_with_bm25_weights_and_matches(served):
    body = served.client.post(
        "/v1/search", json={"query": "비밀번호를 잊어버렸어요", "top_k": 2, "explain": True}
    ).json()
    state = served.state
    from models.morphemes import analyze

    morphemes = analyze(["비밀번호를 잊어버렸어요"])[0]
    weights = state.searcher.index.bm25.morpheme_weights(morphemes)
    assert [(t["text"], t["start"], t["end"]) for t in body["query_terms"]] == [
        ("비밀번호를 잊어버렸어요"[m.start : m.end], m.start, m.end) for m in morphemes
    ]
    np.testing.assert_allclose([t["weight"] for t in body["query_terms"]], weights, atol=1e-6)
    # The best hit, "비밀번호를 잊어버렸어요. 어떻게 찾나요?", contains every morpheme of the query.
    assert body["hits"][0]["matched_terms"] == list(range(len(morphemes)))
    # 비밀 and 번호 weigh more than the particle 를.
    texts = {t["text"]: t["weight"] for t in body["query_terms"]}
    assert texts["비밀"] > texts["를"] and texts["번호"] > texts["를"]


def test_explain_carries_the_configured_function_word_weight(serve, tmp_path, real_encoder):
    from default_index import build_default_snapshot

    from indexing.store import FaqEntry, FaqStore
    from models.bm25 import Bm25Stats, is_function_term
    from models.morphemes import analyze, terms

    questions = [
        "주차 요금은 얼마예요?",
        "서류는 어디에서 받나요?",
        "환불은 언제 되나요?",
        "영업시간을 알려 주세요",
    ]
    with FaqStore.open(tmp_path / "fw") as store:
        store.upsert_many([FaqEntry(f"q{i}", q) for i, q in enumerate(questions)])
    build_default_snapshot(tmp_path / "fw", real_encoder, pooling="bm25", function_weight=0.25)
    served = serve(data_dir=tmp_path / "fw", function_word_weight=0.25)
    query = "주차 요금은 어디에서 내나요?"
    body = served.client.post("/v1/search", json={"query": query, "top_k": 2, "explain": True}).json()
    [morphemes] = analyze([query])
    plain = Bm25Stats.fit(terms(questions)).morpheme_weights(morphemes)  # factor 1
    expected = [
        w * (0.25 if is_function_term(m.term) else 1.0) for m, w in zip(morphemes, plain, strict=True)
    ]
    assert [t["text"] for t in body["query_terms"]] == [
        "주차",
        "요금",
        "은",
        "어디",
        "에서",
        "내",
        "나요",
        "?",
    ]
    np.testing.assert_allclose([t["weight"] for t in body["query_terms"]], expected, atol=1e-6, rtol=0)
    # 은, 에서, 나요 and ? are a quarter of plain BM25; 주차, 요금, 어디, 내 are plain BM25.
    function = [is_function_term(m.term) for m in morphemes]
    assert function == [False, False, True, False, True, False, True, True]
    assert all(w > 0 for w, f in zip(plain, function, strict=True) if not f)
    # 주차 and 에서 are each in one entry: same plain weight, so the particle shows a quarter of it.
    texts = {t["text"]: t["weight"] for t in body["query_terms"]}
    assert texts["에서"] == pytest.approx(0.25 * texts["주차"], abs=2e-6) and texts["에서"] > 0.1


def test_rank_orders_candidates_by_cosine_computed_directly(served, real_encoder):
    query = "신용 대출 신청은 어떻게 하나요?"
    candidates = [
        "오늘 날씨가 좋네요",
        "대출을 신청하는 방법을 알려 주세요",
        "신용카드를 잃어버렸어요",
        "점심 메뉴 추천해 주세요",
    ]
    body = served.client.post(
        "/v1/rank", json={"query": query, "candidates": candidates, "pooling": "mean"}
    ).json()
    vectors = real_encoder.encode([query, *candidates], "mean").vectors
    expected = vectors[1:] @ vectors[0]
    order = np.argsort(-expected, kind="stable")
    assert [r["index"] for r in body["results"]] == order.tolist()
    assert body["results"][0]["text"] == "대출을 신청하는 방법을 알려 주세요"
    np.testing.assert_allclose([r["score"] for r in body["results"]], expected[order], atol=1e-5, rtol=0)
    assert body["pooling"] == "mean"


def test_rank_with_bm25_pooling_fits_statistics_on_the_candidates(served, real_encoder):
    from models.bm25 import Bm25Stats
    from models.morphemes import terms

    query = "신용 대출 신청은 어떻게 하나요?"
    candidates = ["대출 신청 방법", "신용 등급 조회", "대출 이자 계산", "회원 가입 방법"]
    body = served.client.post(
        "/v1/rank", json={"query": query, "candidates": candidates, "pooling": "bm25"}
    ).json()
    vectors = real_encoder.encode([query, *candidates], "bm25", bm25=Bm25Stats.fit(terms(candidates))).vectors
    expected = vectors[1:] @ vectors[0]
    assert [r["index"] for r in body["results"]] == np.argsort(-expected, kind="stable").tolist()
    assert body["pooling"] == "bm25"


LOAN_QUERY = "신용 대출 신청은 어떻게 하나요?"
LOAN_CANDIDATES = [
    "대출을 신청하는 방법을 알려 주세요",
    "오늘 날씨가 좋네요",
    "신용 등급은 어디에서 조회하나요?",
    "점심 메뉴 추천해 주세요",
    "대출 이자는 어떻게 계산하나요?",
    "회원 가입 방법",
    "신용카드를 잃어버렸어요",
]


class ForwardPasses:
    """Counts the encoder's forward passes (each starts with the word embeddings, packed or not)."""

    def __init__(self, encoder) -> None:
        self.times: list[float] = []
        self._hook = encoder.model.embeddings.word_embeddings.register_forward_pre_hook(
            lambda module, args: self.times.append(time.monotonic())
        )

    def __len__(self) -> int:
        return len(self.times)

    def remove(self) -> None:
        self._hook.remove()


@pytest.mark.parametrize("pooling", ["mean", "bm25"])
def test_rank_encodes_in_chunks_and_scores_like_one_encode_call(serve, real_encoder, pooling):
    """Candidates go to the encoder a chunk of FAQSEARCH_BATCH_SIZE at a time; the scores equal one
    call over the query and every candidate, with the served index's BM25 statistics."""
    served = serve(batch_size=2)
    passes = ForwardPasses(real_encoder)
    try:
        body = served.client.post(
            "/v1/rank", json={"query": LOAN_QUERY, "candidates": LOAN_CANDIDATES, "pooling": pooling}
        ).json()
    finally:
        passes.remove()
    assert len(passes) == 1 + 4  # the query, then 7 candidates in chunks of 2
    # bm25 pooling weighs tokens with the served index's statistics
    bm25 = served.state.searcher.index.bm25 if pooling == "bm25" else None
    vectors = real_encoder.encode([LOAN_QUERY, *LOAN_CANDIDATES], pooling, bm25=bm25).vectors
    expected = vectors[1:] @ vectors[0]
    assert np.diff(np.sort(expected)).min() > 1e-3  # well separated, so the order is exact
    order = np.argsort(-expected, kind="stable").tolist()
    assert [r["index"] for r in body["results"]] == order
    assert [r["text"] for r in body["results"]] == [LOAN_CANDIDATES[i] for i in order]
    np.testing.assert_allclose([r["score"] for r in body["results"]], expected[order], atol=1e-5, rtol=0)
    assert body["pooling"] == pooling


def test_a_bm25_rank_score_does_not_depend_on_the_other_candidates(serve):
    """With an index served its statistics weigh the tokens: a candidate scores the same among 2 or
    3 candidates. With none they are fitted on the candidates, and the third one shifts them."""
    pair, trio = LOAN_CANDIDATES[:2], LOAN_CANDIDATES[:3]

    def scores(served, candidates):
        body = {"query": LOAN_QUERY, "candidates": candidates, "pooling": "bm25"}
        results = served.client.post("/v1/rank", json=body).json()["results"]
        return {r["index"]: r["score"] for r in results}

    indexed = serve()
    with_pair, with_trio = scores(indexed, pair), scores(indexed, trio)
    assert with_pair[0] == pytest.approx(with_trio[0], abs=1e-6)
    assert with_pair[1] == pytest.approx(with_trio[1], abs=1e-6)
    bare = serve(copy_index=False)  # no index: the list is the corpus
    bare_pair, bare_trio = scores(bare, pair), scores(bare, trio)
    assert abs(bare_pair[0] - bare_trio[0]) > 1e-4


def test_repeated_candidates_score_equal_and_keep_their_order(serve, real_encoder):
    served = serve(batch_size=2)
    passes = ForwardPasses(real_encoder)
    same = "대출을 신청하는 방법을 알려 주세요"
    candidates = [
        same,
        "오늘 날씨가 좋네요",
        same,
        unicodedata.normalize("NFD", same),
        "신용카드를 잃어버렸어요",
    ]
    try:
        body = served.client.post(
            "/v1/rank", json={"query": LOAN_QUERY, "candidates": candidates, "pooling": "mean"}
        ).json()
    finally:
        passes.remove()
    assert len(passes) == 1 + 2  # the query, then 3 distinct candidates in chunks of 2
    top = body["results"][:3]
    assert [r["index"] for r in top] == [0, 2, 3]
    assert len({r["score"] for r in top}) == 1 and {r["text"] for r in top} == {same}


def test_rank_answers_nfd_input_exactly_like_nfc(served):
    candidates = [*LOAN_CANDIDATES[:3], "  대출\u200b 상담은\n전화로 하나요? "]
    nfd = [unicodedata.normalize("NFD", c) for c in candidates]
    assert nfd != candidates
    answers = []
    for query, texts in ((LOAN_QUERY, candidates), (unicodedata.normalize("NFD", LOAN_QUERY), nfd)):
        response = served.client.post("/v1/rank", json={"query": query, "candidates": texts})
        assert response.status_code == 200, response.text
        body = response.json()
        del body["took_ms"]
        answers.append(body)
    assert answers[1] == answers[0]
    # The text returned is the one compared: normalised (NFC, spaces collapsed, invisibles gone).
    assert {r["index"]: r["text"] for r in answers[0]["results"]}[3] == "대출 상담은 전화로 하나요?"


def _many_candidates(n: int) -> list[str]:
    return [f"{i}번 문의: 주문한 상품의 배송은 언제쯤 도착하나요?" for i in range(n)]


def test_a_search_sent_during_a_large_rank_finishes_before_it(serve, real_encoder):
    """A rank's candidates are encoded a chunk at a time, so a search queued meanwhile runs between
    two chunks instead of waiting for the whole list."""
    served = serve(batch_size=4)
    candidates = _many_candidates(300)
    passes = ForwardPasses(real_encoder)

    def rank() -> tuple[httpx.Response, float]:
        with httpx.Client(base_url=served.url, timeout=120) as client:
            response = client.post("/v1/rank", json={"query": "배송 조회", "candidates": candidates})
        return response, time.monotonic()

    try:
        with ThreadPoolExecutor(1) as pool:
            before = len(passes)
            ranking = pool.submit(rank)
            deadline = time.monotonic() + 60
            while len(passes) < before + 3:  # the rank is encoding
                assert time.monotonic() < deadline and not ranking.done()
                time.sleep(0.002)
            searched = served.client.post("/v1/search", json={"query": "비밀번호를 잊어버렸어요"})
            searched_at = time.monotonic()
            ranked, ranked_at = ranking.result()
    finally:
        passes.remove()
    assert searched.status_code == 200 and searched.json()["hits"][0]["id"] == "site-001"
    assert ranked.status_code == 200 and len(ranked.json()["results"]) == 300
    assert searched_at < ranked_at


def test_a_rank_stops_encoding_when_its_client_disconnects(serve, real_encoder, caplog):
    """A client that hangs up (a timeout, a closed tab) stops its rank before the next chunk: no
    forward passes for nobody, and no 500 or traceback in the log, one info line."""
    served = serve(batch_size=4)
    candidates = _many_candidates(1000)  # 250 chunks: seconds of encoding
    caplog.set_level(logging.INFO)
    uvicorn_log = logging.getLogger("uvicorn.error")  # uvicorn's loggers do not propagate
    uvicorn_log.addHandler(caplog.handler)
    passes = ForwardPasses(real_encoder)
    try:
        impatient = httpx.Client(base_url=served.url, timeout=httpx.Timeout(120, read=1.0))
        with impatient, pytest.raises(httpx.ReadTimeout):  # the client gives up and hangs up
            body = {"query": "배송 조회", "candidates": candidates, "pooling": "mean"}
            impatient.post("/v1/rank", json=body)
        deadline = time.monotonic() + 30
        while not [r for r in caplog.records if r.name == "app.service"]:
            assert time.monotonic() < deadline, "the rank did not stop"
            time.sleep(0.02)
        stopped_after = len(passes)
        time.sleep(0.3)
        assert len(passes) == stopped_after  # no chunk was encoded after it stopped
    finally:
        passes.remove()
        uvicorn_log.removeHandler(caplog.handler)
    (record,) = [r for r in caplog.records if r.name == "app.service"]
    done = int(record.getMessage().split()[3])
    assert record.getMessage() == f"rank stopped after {done} of 1000 candidates: the client disconnected"
    assert record.levelno == logging.INFO and 0 < done < 600
    assert stopped_after == 1 + done // 4  # the query, then one pass per chunk of 4 until it stopped
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert served.client.post("/v1/search", json={"query": "배송 조회"}).status_code == 200


def test_embed_returns_the_encoders_vectors_and_truncation(serve, real_encoder):
    served = serve(max_query_chars=3000)
    long_sentence = "복지 서비스 신청 " * 200  # 2,000 characters: more than 512 tokens
    sentences = ["비밀번호를 잊어버렸어요", long_sentence.strip()]
    body = served.client.post("/v1/embed", json={"sentences": sentences, "pooling": "cls"}).json()
    expected = real_encoder.encode(sentences, "cls")
    assert body["dim"] == 384 and body["pooling"] == "cls"
    np.testing.assert_allclose(np.array(body["vectors"]), expected.vectors, atol=1e-6, rtol=0)
    assert body["truncated"] == [False, True]


@pytest.mark.parametrize("mode", ["dense", "bm25", "hybrid"])
def test_default_mode_comes_from_settings(serve, mode):
    served = serve(search_mode=mode)
    body = served.client.post("/v1/search", json={"query": "비밀번호를 잊어버렸어요"}).json()
    assert body["mode"] == mode
    assert body["hits"][0]["id"] == "site-001"
    asked = served.client.post("/v1/search", json={"query": "비밀번호를 잊어버렸어요", "mode": mode}).json()
    assert [h["id"] for h in body["hits"]] == [h["id"] for h in asked["hits"]]
    # top_k 10 by default; bm25 finds only the 6 entries holding 비밀, 번호 or 잊어버리 (particles
    # and endings weigh 0 by default, so they match nothing)
    assert len(body["hits"]) == (6 if mode == "bm25" else 10)


@pytest.mark.parametrize("mode", ["dense", "bm25", "hybrid"])
def test_hits_say_which_text_matched(served, mode):
    """An alternate as the query: its entry comes back once, `matched` naming that alternate."""
    alternates = ["암호가 생각이 안 나요", "로그인 암호 재발급"]
    put = served.client.put(
        "/v1/faqs/site-001",
        json={"question": "비밀번호를 잊어버렸어요. 어떻게 찾나요?", "alternates": alternates},
        headers={"Authorization": "Bearer test-key-0123456789"},
    )
    assert put.status_code == 200, put.text
    body = served.client.post(
        "/v1/search", json={"query": "로그인 암호 재발급", "top_k": 10, "mode": mode}
    ).json()
    hits = body["hits"]
    assert [h["id"] for h in hits].count("site-001") == 1
    assert hits[0]["id"] == "site-001"
    assert hits[0]["alternates"] == alternates
    assert hits[0]["matched"] == {"kind": "alternate", "index": 1, "text": "로그인 암호 재발급"}
    other = next(h for h in hits if h["id"] != "site-001")  # no alternates: its question or its answer
    if other["matched"]["kind"] == "question":
        assert other["matched"] == {"kind": "question", "index": 0, "text": other["question"]}
    else:
        assert other["matched"]["kind"] == "answer" and other["matched"]["text"] in other["answer"]
    batch = served.client.post(
        "/v1/search/batch", json={"queries": ["로그인 암호 재발급"], "mode": mode}
    ).json()
    assert batch["results"][0]["hits"][0]["matched"] == hits[0]["matched"]


def test_the_server_min_score_applies_when_a_request_sends_none(serve):
    query = {"query": "회원 탈퇴는 어떻게 하나요?", "top_k": 10}
    plain = serve().client.post("/v1/search", json=query).json()["hits"]
    cosines = sorted((h["cosine"] for h in plain if h["cosine"] is not None), reverse=True)
    threshold = cosines[2]  # the third best: three hits stay
    served = serve(min_score=threshold)
    kept = [h["id"] for h in plain if h["cosine"] is not None and h["cosine"] >= threshold]
    assert len(kept) == 3
    assert [h["id"] for h in served.client.post("/v1/search", json=query).json()["hits"]] == kept
    batch = served.client.post("/v1/search/batch", json={"queries": [query["query"]], "top_k": 10}).json()
    assert [h["id"] for h in batch["results"][0]["hits"]] == kept
    # a request's own min_score wins over the server's
    asked = served.client.post("/v1/search", json={**query, "min_score": -1.0}).json()["hits"]
    assert [h["id"] for h in asked] == [h["id"] for h in plain if h["cosine"] is not None]
