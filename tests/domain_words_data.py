"""A small hand-written banking FAQ set with a user dictionary and synonyms, shared by the domain
words tests (importable from every test folder: pytest puts tests/ on sys.path)."""

from __future__ import annotations

from pathlib import Path

from indexing.store import FaqEntry

FAQS = [
    FaqEntry("cert-renew", "공인인증서를 재발급받으려면 어떻게 하나요?", "인증센터에서 재발급을 누르세요."),
    FaqEntry("cert-expire", "공동 인증서가 만료되면 어떻게 하나요?", "만료 30일 전부터 갱신할 수 있습니다."),
    FaqEntry("card-renew", "체크카드를 재발급받고 싶어요", "앱의 카드 메뉴에서 신청하세요."),
    FaqEntry(
        "youth-join", "청년도약계좌는 누가 가입할 수 있나요?", "만 19세부터 34세까지 가입할 수 있습니다."
    ),
    FaqEntry("cert-password", "인증서 비밀번호를 잊어버렸어요", "인증서를 다시 발급받아야 합니다."),
    FaqEntry("account-password", "계좌 비밀번호를 바꾸고 싶어요", "영업점이나 앱에서 바꿀 수 있습니다."),
    FaqEntry("remit-limit", "해외 송금 한도는 얼마인가요?", "하루 5만 달러까지 보낼 수 있습니다."),
    FaqEntry("app-login", "모바일 앱에서 로그인이 안 돼요", "앱을 최신 버전으로 업데이트해 보세요."),
    FaqEntry("joint-book", "공동 명의 통장을 재발급받고 싶어요", "명의인 모두 영업점에 오셔야 합니다."),
]
USER_DICT = "# 금융 상품 이름\n청년도약계좌\tNNP\n"
SYNONYMS = "# 인증서: 옛 이름이 먼저\n공인인증서, 공동 인증서\n휴대폰, 핸드폰\n"
# Without the synonyms Kiwi reads 공동 + 인증서, and joint-book (공동, 재, 발급) comes first.
SYNONYM_QUERY = "공동인증서 재발급"


def write_word_files(folder: Path) -> tuple[Path, Path]:
    """-> (user dictionary, synonyms) written into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    user_dict, synonyms = folder / "domain.dict", folder / "synonyms.txt"
    user_dict.write_text(USER_DICT, encoding="utf-8")
    synonyms.write_text(SYNONYMS, encoding="utf-8")
    return user_dict, synonyms
