import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import models.text as text_module
from models.text import normalize_multiline, normalize_text


def test_nfd_korean_becomes_the_nfc_string():
    nfc = "신용 대출을 신청하고 싶어요"
    nfd = unicodedata.normalize("NFD", nfc)
    assert nfd != nfc
    assert normalize_text(nfd) == nfc


def test_whitespace_of_every_kind_collapses_to_single_spaces():
    assert normalize_text("  비밀번호를\t잊어\n\r버렸어요\u3000 ") == "비밀번호를 잊어 버렸어요"


def test_controls_and_invisible_format_characters_are_removed():
    assert normalize_text("\ufeff대출\x00 신청\x1b\u200b") == "대출 신청"


def test_control_between_jamo_does_not_block_composition():
    # ᄀ (U+1100) + NUL + ᅡ (U+1161): removing NUL first lets the jamo compose to 가.
    assert normalize_text("\u1100\x00\u1161") == "가"


def test_zero_width_joiner_of_emoji_sequences_is_kept():
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    assert normalize_text(f"가족 {family}") == f"가족 {family}"


def test_lone_surrogates_are_removed():
    assert normalize_text("대출\ud800") == "대출"


def test_only_whitespace_and_controls_normalises_to_empty():
    assert normalize_text(" \t\x00\n ") == ""


def test_non_string_is_a_type_error():
    with pytest.raises(TypeError, match="text must be str, not int"):
        normalize_text(3)  # type: ignore[arg-type]


# Any characters, and short texts from a set that mixes printable Hangul with what must go.
TEXTS = st.text(max_size=40) | st.text("가나 \u1100\u1161\t\u00a0\u200b\u200d\x00a", max_size=20)


@given(TEXTS)
@settings(max_examples=2000, deadline=None)
def test_printable_fast_path_equals_the_per_character_rule(text):
    slow = " ".join(unicodedata.normalize("NFC", text_module._drop_invisible(text)).split())
    assert normalize_text(text) == slow


def test_multiline_text_keeps_its_layout_and_is_nfc():
    answer = "1. 로그인\r\n2. 설정 \r\n\r\n    코드:  a\tb\x00  \n\n"
    assert normalize_multiline(answer) == "1. 로그인\n2. 설정\n\n    코드:  a\tb"
    assert normalize_multiline(unicodedata.normalize("NFD", answer)) == normalize_multiline(answer)
    assert normalize_multiline("\u200b\n  줄 \x0b 바꿈\u00ad\r") == "줄   바꿈"
    assert normalize_multiline(" \n\t\n ") == ""
    assert normalize_multiline("첫째\u2028둘째\u2029셋째") == "첫째\n둘째\n셋째"
