"""Every forward pass of the service runs in its one encoder thread: start-up, searches, rank,
embed, writes and a rebuild's batches. torch's OpenMP keeps a thread team per calling thread, and
a second team on a small machine makes every later forward pass slower (docs/benchmarks.md)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from service_helpers import AUTH, wait_for_job

from app.state import _EncoderOnThread

QUESTIONS = [
    "비밀번호를 잊어버렸어요",
    "배송은 보통 며칠 걸리나요?",
    "환불 신청은 어디에서 하나요",
    "회원 탈퇴는 어떻게 하나요",
    "주문한 상품을 다른 주소로 보낼 수 있나요?",
    "영수증을 다시 받을 수 있나요",
]


def test_every_forward_pass_runs_in_the_encoder_thread(serve_tiny, tiny_encoder) -> None:
    """Thread placement, not meaning: the tiny random model, so the rebuild takes no time."""
    threads: list[str] = []
    # Every forward pass, packed or not, starts with the word embeddings.
    hook = tiny_encoder.model.embeddings.word_embeddings.register_forward_pre_hook(
        lambda module, args: threads.append(threading.current_thread().name)
    )
    try:
        served = serve_tiny()
        client = served.client
        assert client.post("/v1/search", json={"query": "비밀번호 찾기"}).status_code == 200
        assert client.post("/v1/search/batch", json={"queries": ["환불", "배송"]}).status_code == 200
        assert client.post("/v1/rank", json={"query": "환불", "candidates": ["환불 방법"]}).status_code == 200
        assert client.post("/v1/embed", json={"sentences": ["배송 조회"]}).status_code == 200
        faq = {"question": "포인트는 언제 사라지나요?", "answer": "1년 뒤에요"}
        assert client.put("/v1/faqs/thread-1", json=faq, headers=AUTH).status_code == 200
        job = client.post("/v1/index/rebuild", headers=AUTH).json()
        assert wait_for_job(client, job["job_id"])["state"] == "succeeded"
    finally:
        hook.remove()
    # start-up (index load, warm-up) + 4 requests + the write + the rebuild's batches
    assert len(threads) >= 7
    assert set(threads) == {"encoder_0"}


def test_encoder_on_thread_gives_the_encoders_vectors_one_batch_per_call(tiny_encoder) -> None:
    assert tiny_encoder.batch_size == 4
    calls: list[tuple[str, int]] = []
    original = tiny_encoder.encode

    def recording(texts, *args, **kwargs):
        calls.append((threading.current_thread().name, len(texts)))
        return original(texts, *args, **kwargs)

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="enc") as executor:
        on_thread = _EncoderOnThread(
            tiny_encoder, lambda fn, *a, **kw: executor.submit(fn, *a, **kw).result()
        )
        tiny_encoder.encode = recording
        try:
            got = on_thread.encode(QUESTIONS, "mean")
            empty = on_thread.encode([], "mean")
        finally:
            del tiny_encoder.encode
    expected = tiny_encoder.encode(QUESTIONS, "mean")
    np.testing.assert_allclose(got.vectors, expected.vectors, atol=1e-6)
    assert got.truncated.tolist() == expected.truncated.tolist()
    # 6 sentences in batches of 4: two calls in the executor's thread; the empty input runs no
    # forward pass, so it stays in the calling thread
    assert calls == [("enc_0", 4), ("enc_0", 2), (threading.current_thread().name, 0)]
    assert empty.vectors.shape == (0, tiny_encoder.dim)
    assert on_thread.dim == tiny_encoder.dim  # everything else is the encoder's own


def test_in_encoder_thread_from_the_encoder_thread_itself_runs_in_place(served) -> None:
    state = served.state
    # From another thread: runs in the encoder thread.
    assert state.in_encoder_thread(lambda: threading.current_thread().name) == "encoder_0"
    # From the encoder thread: in place (waiting on its own queue would hang forever).
    nested = state.executor.submit(state.in_encoder_thread, lambda: threading.current_thread().name).result(
        timeout=30
    )
    assert nested == "encoder_0"
