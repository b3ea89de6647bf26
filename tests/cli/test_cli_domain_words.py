"""FAQSEARCH_USER_DICT and FAQSEARCH_SYNONYMS through the CLI, as real processes: a bad line is a
one-line error before anything runs; `index build` copies the files; a search refuses edited ones."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys

import pytest
from domain_words_data import FAQS, SYNONYMS, USER_DICT, write_word_files


def _run(args, model_path, **env):
    return subprocess.run(
        [sys.executable, "-m", "faqsearch.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "FAQSEARCH_MODEL": str(model_path), "HF_HUB_OFFLINE": "1", **env},
        timeout=600,
    )


def test_a_bad_dictionary_line_is_a_one_line_error_at_startup(tmp_path, model_path):
    bad = tmp_path / "domain.dict"
    bad.write_text("청년도약계좌\tNNP\n적금\tNNQ\n", encoding="utf-8")
    result = _run(["index", "list", "--index", str(tmp_path)], model_path, FAQSEARCH_USER_DICT=str(bad))
    assert result.returncode == 2
    assert result.stderr == (
        f"error: invalid setting: FAQSEARCH_USER_DICT: {bad}:2: unknown tag 'NNQ'; use a Kiwi tag such as NNP "
        "(proper noun), NNG (noun), VV (verb), VA (adjective), MAG (adverb) or SL (foreign word)\n"
    )
    assert not (tmp_path / "snapshots").exists()


@pytest.mark.slow
def test_index_build_copies_the_files_and_search_refuses_edited_ones(tmp_path, tiny_model_dir):
    # Files and refusals, and a BM25 search: the processes load the tiny random model.
    model_path = tiny_model_dir
    faqs = tmp_path / "faqs.csv"
    with faqs.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "question", "answer"])
        writer.writerows([entry.id, entry.question, entry.answer] for entry in FAQS)
    user_dict, synonyms = write_word_files(tmp_path / "words")
    env = {"FAQSEARCH_USER_DICT": str(user_dict), "FAQSEARCH_SYNONYMS": str(synonyms)}
    data_dir = tmp_path / "data"
    built = _run(["index", "build", "--faqs", str(faqs), "--out", str(data_dir)], model_path, **env)
    assert built.returncode == 0, built.stderr
    copies = data_dir / "snapshots/v000001"
    assert (copies / "user_dict.txt").read_text(encoding="utf-8") == USER_DICT
    assert (copies / "synonyms.txt").read_text(encoding="utf-8") == SYNONYMS
    manifest = json.loads((copies / "manifest.json").read_text(encoding="utf-8"))
    assert sorted(manifest["domain_words"]) == ["synonyms", "user_dict"]
    found = _run(
        ["search", "공동인증서 재발급", "--index", str(data_dir), "--mode", "bm25"], model_path, **env
    )
    assert found.returncode == 0, found.stderr
    assert json.loads(found.stdout)["hits"][0]["id"] == "cert-renew"
    user_dict.write_text(USER_DICT + "알뜰폰\tNNP\n", encoding="utf-8")
    refused = _run(["search", "공동인증서 재발급", "--index", str(data_dir)], model_path, **env)
    assert refused.returncode == 2
    assert len(refused.stderr.splitlines()) == 1
    assert f"but FAQSEARCH_USER_DICT {user_dict} has sha256" in refused.stderr
    assert "(faqsearch index build)" in refused.stderr
