"""Domain words: parsing the user dictionary and synonym files (errors name file and line), Kiwi
with them (a compound read as one word, synonyms as one canonical term), and what BM25 statistics
and pooling weights make of that."""

from __future__ import annotations

import unicodedata

import numpy as np
import pytest

from models.bm25 import Bm25Stats
from models.domain_words import (
    USER_DICT_TAGS,
    DomainWords,
    DomainWordsError,
    SynonymGroup,
    UserWord,
    WordFile,
)
from models.morphemes import DEFAULT_ANALYZER, Analyzer, analyzer_for, terms


def _file(name: str, text: str | bytes) -> WordFile:
    return WordFile(name, text.encode("utf-8") if isinstance(text, str) else text)


USER_DICT = _file("domain.dict", "# 금융 상품\n\n청년도약계좌\tNNP\n알뜰폰 요금제\tNNG\t-1.5\n")
SYNONYMS = _file("synonyms.txt", "# 인증서\n공인인증서, 공동 인증서\n\n휴대폰,핸드폰 , 휴대전화\n")


# -- parsing -------------------------------------------------------------------------------------


def test_user_dictionary_lines_become_user_words():
    nfd = unicodedata.normalize("NFD", "청년도약계좌")
    words = DomainWords(_file("d.dict", f"{nfd}\tnnp\n  # 주석\n알뜰폰   요금제\tNNG\t-1.5\n"))
    assert words.user_words == (
        UserWord("청년도약계좌", "NNP", 0.0, "d.dict:1"),  # NFC, tag upper-cased
        UserWord("알뜰폰 요금제", "NNG", -1.5, "d.dict:3"),  # whitespace collapsed
    )


def test_synonym_lines_become_groups_canonical_first():
    words = DomainWords(synonyms=SYNONYMS)
    assert words.groups == (
        SynonymGroup(("공인인증서", "공동 인증서"), 2),
        SynonymGroup(("휴대폰", "핸드폰", "휴대전화"), 4),
    )
    assert words.canonical_terms() == {
        ("공인인증서", "N"): "공인인증서/N",
        ("공동인증서", "N"): "공인인증서/N",
        ("휴대폰", "N"): "휴대폰/N",
        ("핸드폰", "N"): "휴대폰/N",
        ("휴대전화", "N"): "휴대폰/N",
    }


def test_a_synonym_in_the_user_dictionary_keeps_its_tag_and_is_added_once():
    words = DomainWords(_file("d.dict", "달리기\tNNG\t2\n"), _file("s.txt", "뛰기, 달리기\n"))
    assert [(w.word, w.tag, w.score, w.origin) for w in words.kiwi_words()] == [
        ("달리기", "NNG", 2.0, "d.dict:1"),
        ("뛰기", "NNP", 0.0, "s.txt:1"),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("청년도약계좌\tXYZ\n", "d.dict:1: unknown tag 'XYZ'; use a Kiwi tag such as NNP"),
        ("# 주석\n\tNNP\n", "d.dict:2: the word is empty"),
        ("청년도약계좌 NNP\n", "d.dict:1: 1 tab-separated field(s), expected 2 or 3"),
        ("가\tNNP\t0\t1\n", "d.dict:1: 4 tab-separated field(s), expected 2 or 3"),
        ("청년도약계좌\tNNP\t높음\n", "d.dict:1: the score '높음' is not a finite number"),
        ("청년도약계좌\tNNP\tnan\n", "d.dict:1: the score 'nan' is not a finite number"),
        ("청년도약계좌\tNNP\n\n청년 도약계좌\tNNP\n", "d.dict:3: '청년 도약계좌'/NNP is already on line 1"),
        (b"\xea\xb0\x80\tNNP\n\xff\tNNP\n", "d.dict:2: not UTF-8 text; save the file as UTF-8"),
    ],
)
def test_a_bad_user_dictionary_line_names_file_and_line(text, message):
    with pytest.raises(DomainWordsError) as caught:
        DomainWords(user_dict=_file("d.dict", text))
    assert str(caught.value).startswith(message)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("공인인증서\n", "s.txt:1: a group needs at least 2 words, this one has 1"),
        ("공인인증서,,공동인증서\n", "s.txt:1: an empty member"),
        ("공인인증서, 공동인증서,\n", "s.txt:1: an empty member"),
        (
            "휴대폰, 핸드폰\n# 다음 줄\n공인인증서, 핸드폰\n",
            "s.txt:3: '핸드폰' is already in the group on line 1 (words compare without spaces)",
        ),
        ("공동인증서, 공동 인증서\n", "s.txt:1: '공동 인증서' is already earlier on this line"),
    ],
)
def test_a_bad_synonym_line_names_file_and_line(text, message):
    with pytest.raises(DomainWordsError) as caught:
        DomainWords(synonyms=_file("s.txt", text))
    assert str(caught.value).startswith(message)


def test_a_missing_file_names_the_path(tmp_path):
    with pytest.raises(DomainWordsError, match=rf"cannot read {tmp_path}/없음\.txt: No such file"):
        DomainWords.read(synonyms=tmp_path / "없음.txt")


def test_a_bad_line_at_startup_is_a_one_line_settings_error(tmp_path, monkeypatch):
    from faqsearch.settings import SettingsError, get_settings

    bad = tmp_path / "synonyms.txt"
    bad.write_text("휴대폰, 핸드폰\n공인인증서\n", encoding="utf-8")
    monkeypatch.setenv("FAQSEARCH_SYNONYMS", str(bad))
    get_settings.cache_clear()
    try:
        with pytest.raises(SettingsError) as caught:
            get_settings()
    finally:
        get_settings.cache_clear()
    assert str(caught.value) == (
        f"invalid setting: FAQSEARCH_SYNONYMS: {bad}:2: a group needs at least 2 words, this one has 1; "
        "comma-separated words, canonical first, e.g. 공인인증서, 공동인증서"
    )


def test_every_accepted_tag_is_one_kiwi_accepts():
    from kiwipiepy import Kiwi

    kiwi = Kiwi()
    for i, tag in enumerate(sorted(USER_DICT_TAGS)):
        kiwi.add_user_word(f"도메인낱말{i}", tag)  # raises for a tag Kiwi does not know
    with pytest.raises(ValueError, match="Unknown tag"):
        kiwi.add_user_word("도메인낱말", "XYZ")


# -- analysis ------------------------------------------------------------------------------------


def test_no_domain_words_is_kiwi_as_it_comes():
    assert analyzer_for(None) is DEFAULT_ANALYZER
    assert analyzer_for(DomainWords()) is DEFAULT_ANALYZER
    assert analyzer_for(DomainWords(USER_DICT)) is analyzer_for(DomainWords(USER_DICT))  # one Kiwi each


def test_a_compound_kiwi_splits_wrongly_is_one_word_with_the_user_dictionary():
    sentence = "청년도약계좌를 만들고 싶어요"
    # Kiwi alone reads 청년 + 도 (the particle "also") + 약 + 계좌.
    assert terms([sentence])[0] == [
        "청년/N",
        "도/J",
        "약/N",
        "계좌/N",
        "를/J",
        "만들/V",
        "고/E",
        "싶/V",
        "어요/E",
    ]
    morphemes = Analyzer(DomainWords(USER_DICT)).analyze([sentence])[0]
    assert [(m.term, m.start, m.end) for m in morphemes] == [
        ("청년도약계좌/N", 0, 6),
        ("를/J", 6, 7),
        ("만들/V", 8, 10),
        ("고/E", 10, 11),
        ("싶/V", 12, 13),
        ("어요/E", 13, 15),
    ]


def test_synonyms_of_several_morphemes_become_the_canonical_term_with_their_own_span():
    analyzer = Analyzer(DomainWords(USER_DICT, SYNONYMS))
    spans = [
        [(m.term, m.start, m.end) for m in sentence][:2]
        for sentence in analyzer.analyze(
            ["공동인증서를 재발급", "공동 인증서를 재발급", "공인인증서를 재발급"]
        )
    ]
    assert spans == [
        [("공인인증서/N", 0, 5), ("를/J", 5, 6)],
        [("공인인증서/N", 0, 6), ("를/J", 6, 7)],
        [("공인인증서/N", 0, 5), ("를/J", 5, 6)],
    ]
    # Without the synonyms Kiwi reads 공동 + 인증서 and 공인 + 인증서.
    assert terms(["공동 인증서를 재발급"])[0][:2] == ["공동/N", "인증서/N"]


# -- BM25 and pooling ----------------------------------------------------------------------------

CORPUS = [
    "공인인증서를 재발급받고 싶어요",
    "공동인증서가 만료됐어요",
    "체크카드를 재발급받고 싶어요",
    "해외 송금 한도는 얼마인가요?",
    "모바일 앱에서 로그인이 안 돼요",
]
# What the analyser with SYNONYMS makes of CORPUS, written out by hand from Kiwi's reading.
CANONICAL_TERMS = [
    ["공인인증서/N", "를/J", "재/XP", "발급/N", "받/V", "고/E", "싶/V", "어요/E"],
    ["공인인증서/N", "가/J", "만료/N", "되/XS", "었/E", "어요/E"],
    ["체크/N", "카드/N", "를/J", "재/XP", "발급/N", "받/V", "고/E", "싶/V", "어요/E"],
    ["해외/N", "송금/N", "한도/N", "는/J", "얼마/N", "이/V", "ᆫ가요/E", "?/S"],
    ["모바일/N", "앱/N", "에서/J", "로그인/N", "이/J", "안/M", "되/V", "어요/E"],
]


def test_synonyms_count_as_one_term_in_document_frequency_and_idf():
    from rank_bm25 import BM25Okapi

    analyzer = Analyzer(DomainWords(synonyms=SYNONYMS))
    corpus_terms = analyzer.terms(CORPUS)
    assert corpus_terms == CANONICAL_TERMS
    stats = Bm25Stats.fit(corpus_terms, analyzer=analyzer)
    assert stats.analyzer is analyzer
    assert "공동인증서/N" not in stats.vocab and "인증서/N" not in stats.vocab
    assert int(stats.doc_freq[stats.vocab.index("공인인증서/N")]) == 2
    okapi = BM25Okapi(CANONICAL_TERMS)
    # Okapi idf = ln(N - df + 0.5) - ln(df + 0.5), N = 5 documents: df 2 for both spellings together.
    assert stats.idf_of("공인인증서/N") == pytest.approx(np.log(3.5) - np.log(2.5), abs=1e-12)
    assert okapi.idf["공인인증서/N"] == pytest.approx(stats.idf_of("공인인증서/N"), abs=1e-12)
    assert stats.idf_of("체크/N") == pytest.approx(np.log(4.5) - np.log(1.5), abs=1e-12)


def test_a_synonym_token_gets_the_pooling_weight_of_the_canonical_term(tiny_encoder):
    analyzer = Analyzer(DomainWords(synonyms=SYNONYMS))
    stats = Bm25Stats.fit(analyzer.terms(CORPUS), analyzer=analyzer)
    queries = ["공동인증서가 만료됐어요", "공인인증서가 만료됐어요"]
    tokenized = tiny_encoder.tokenize(queries)
    weights = tiny_encoder.bm25_token_weights(tokenized, stats)
    # BM25 weight of 공인인증서/N in a 6-morpheme sentence: idf * (k1 + 1) / (1 + k1 * (1 - b + b * 6 / avgdl)).
    avgdl = sum(map(len, CANONICAL_TERMS)) / 5
    expected = (np.log(3.5) - np.log(2.5)) * 2.5 / (1 + 1.5 * (0.25 + 0.75 * 6 / avgdl))
    assert stats.term_weights(CANONICAL_TERMS[1])["공인인증서/N"] == pytest.approx(expected, abs=1e-12)
    for spans, token_weights in zip(tokenized.offsets, weights, strict=True):
        in_word = (spans[:, 1] > spans[:, 0]) & (spans[:, 0] < 5)  # tokens of the first five characters
        assert in_word.sum() >= 2  # the word is several tokens, each weighs the canonical term
        np.testing.assert_allclose(token_weights[in_word], expected, rtol=0, atol=1e-12)
