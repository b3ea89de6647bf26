"""`faqsearch serve` as a real process: it serves the index it is pointed at over HTTP."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time

import httpx
import pytest


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_serve_answers_searches_and_stops_cleanly(tmp_path, model_path, sample_index):
    data_dir = tmp_path / "data"
    shutil.copytree(sample_index, data_dir)
    port = _free_port()
    env = {**os.environ, "FAQSEARCH_MODEL": str(model_path), "HF_HUB_OFFLINE": "1", "FAQSEARCH_API_KEY": "k"}
    process = subprocess.Popen(
        [sys.executable, "-m", "faqsearch.cli", "serve", "--index", str(data_dir), "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 180
        while True:
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            try:
                if httpx.get(f"{url}/readyz", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "server did not become ready"
            time.sleep(0.5)
        body = httpx.post(f"{url}/v1/search", json={"query": "비밀번호를 잊어버렸어요", "top_k": 1}).json()
        assert body["hits"][0]["id"] == "site-001"
        assert body["hits"][0]["question"] == "비밀번호를 잊어버렸어요. 어떻게 찾나요?"
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=60)
    # uvicorn shuts down gracefully, then re-raises SIGTERM so the exit status tells who stopped it.
    assert process.returncode in (0, -15), output
    assert "Application shutdown complete." in output
    assert "Traceback" not in output


def test_serve_with_a_missing_model_is_a_one_line_error(tmp_path):
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "faqsearch.cli",
            "serve",
            "--index",
            str(tmp_path),
            "--model",
            str(tmp_path / "nope"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("error: model folder")
    assert "FAQSEARCH_MODEL" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_over_a_damaged_store_is_a_one_line_error(tmp_path, model_path):
    (tmp_path / "faqs.sqlite3").write_bytes(os.urandom(8192))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "FAQSEARCH_MODEL": str(model_path)}
    result = subprocess.run(
        [sys.executable, "-m", "faqsearch.cli", "serve", "--index", str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: cannot open FAQ store {tmp_path / 'faqs.sqlite3'}: ")
    assert "faqsearch faqs import FILE" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_on_a_taken_port_says_so_before_loading_the_model(tmp_path, model_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "FAQSEARCH_MODEL": str(model_path)}
        started = time.monotonic()
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "faqsearch.cli",
                "serve",
                "--data-dir",
                str(tmp_path),
                "--port",
                str(port),
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        seconds = time.monotonic() - started
    assert result.returncode == 2
    assert result.stderr == (
        f"error: cannot listen on 127.0.0.1:{port} (Address already in use); another process may be "
        "using the port: stop it, or choose another port with --port or FAQSEARCH_PORT\n"
    )
    # Before the model loads (about 8 s for the real one): no encoder line was logged.
    assert "encoder" not in result.stdout + result.stderr
    assert seconds < 8, seconds
