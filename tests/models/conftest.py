"""Fixtures of the real-model tests: sentences of every length, from a hand-written paragraph."""

import pytest

PARAGRAPH_TEXT = (
    "신용 대출을 신청하시려면 먼저 본인 명의의 휴대폰으로 본인 인증을 하신 다음 소득을 증명할 수 있는 "
    "서류를 준비해 주세요 직장인은 재직 증명서와 근로 소득 원천징수 영수증이 필요하고 사업자는 사업자 "
    "등록증과 종합 소득세 신고서가 필요합니다 서류를 모두 제출하시면 심사가 시작되며 보통 영업일 기준으로 "
    "이틀에서 사흘 정도 걸립니다 심사 결과는 문자 메시지와 앱 알림으로 알려 드리고 승인이 나면 약정서에 "
    "전자 서명을 하신 뒤 원하시는 계좌로 대출금이 입금됩니다 금리는 신용 점수와 소득 그리고 기존 대출 "
    "현황에 따라 달라지며 우대 금리 조건을 충족하시면 최대 연 영점오 퍼센트까지 금리를 낮출 수 있습니다 "
    "중도 상환 수수료는 대출 실행일로부터 삼 년이 지나면 면제됩니다"
)
PARAGRAPH = PARAGRAPH_TEXT.split()


def sentence_lengths(encoder, sentences):
    """Tokens of each sentence itself: no prefix, no special tokens."""
    return [len(ids) for ids in encoder.tokenizer(sentences, add_special_tokens=False)["input_ids"]]


@pytest.fixture(scope="session")
def forty_sentences(real_encoder):
    word_counts = [2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30]
    word_counts += [33, 36, 39, 42, 45, 48, 51, 54, 57, 60, 63, 66, 69, 72, 75, 78, 81, 84, 87, 90]
    sentences = ["대출을"] + [" ".join(PARAGRAPH[:n]) for n in word_counts]  # 대출을 = ▁ 대출 을
    assert len(sentences) == 40
    lengths = sentence_lengths(real_encoder, sentences)
    assert min(lengths) == 3 and max(lengths) >= 120, lengths
    return sentences
