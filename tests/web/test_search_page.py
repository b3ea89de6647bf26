"""Issue 7: the search page at `/`, end to end in headless Chromium against a real server with the
real model over the sample FAQ set. What the page shows is checked against the API's own answer
for the same request, so the page can neither invent hits nor mis-shade terms."""

from __future__ import annotations

import contextlib
import re

import httpx
from playwright.sync_api import expect

QUERY = "비밀번호를 잊어버렸어요"
FIRST_HIT = ("site-001", "비밀번호를 잊어버렸어요. 어떻게 찾나요?")
EMPTY_MESSAGE = "검색어를 입력해 주세요."
NOT_READY_MESSAGE = "검색 준비가 아직 끝나지 않았습니다. 잠시 후 다시 시도해 주세요."


def api_search(url: str, **body) -> dict:
    response = httpx.post(f"{url}/v1/search", json={"query": QUERY, "top_k": 5, "explain": True, **body})
    response.raise_for_status()
    return response.json()


def search(page, query: str) -> None:
    page.get_by_label("검색어").fill(query)
    page.get_by_label("검색어").press("Enter")


def shown_hits(page) -> list[tuple[str, str]]:
    hits = page.get_by_test_id("hit")
    return [
        (hits.nth(i).get_attribute("data-id"), hits.nth(i).get_by_test_id("hit-question").inner_text())
        for i in range(hits.count())
    ]


def luminance(css_color: str) -> float:
    """Relative luminance (0 black .. 1 white) of a computed `rgb(r, g, b)` colour."""
    r, g, b = (int(v) / 255 for v in re.findall(r"\d+", css_color)[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def term_piece(hit, start: int):
    """The shaded piece of the query that begins at character `start` in a hit."""
    return hit.locator(f'[data-testid="term"][data-start="{start}"]')


def test_search_shows_the_expected_first_hit_with_shaded_terms(page, page_url, artifacts):
    page.goto(page_url)
    assert page.title() == "FAQ 검색"
    assert page.get_by_label("검색어").get_attribute("placeholder") == "궁금한 점을 입력하세요"
    search(page, QUERY)

    page.get_by_test_id("hit").first.wait_for()
    expected = api_search(page_url)
    assert shown_hits(page)[0] == FIRST_HIT
    assert [h[0] for h in shown_hits(page)] == [h["id"] for h in expected["hits"]]
    # No mode was chosen, so the server's default (hybrid) answered; the switch now shows it.
    assert page.get_by_test_id("result-mode").inner_text() == expected["mode"] == "hybrid"
    assert page.get_by_test_id("mode-hybrid").is_checked()
    first = page.get_by_test_id("hit").first
    assert first.get_by_test_id("hit-answer").inner_text() == expected["hits"][0]["answer"]
    assert first.get_by_test_id("hit-score").inner_text() == f"점수 {expected['hits'][0]['score']:.3f}"

    # Shading: 비밀 and 번호 weigh more than the particle 를, so they are darker; every term of
    # this query is in the first hit's question, so all its pieces are marked matched.
    terms = {t["text"]: t for t in expected["query_terms"]}
    assert terms["비밀"]["weight"] > terms["를"]["weight"] and terms["번호"]["weight"] > terms["를"]["weight"]
    shade = {}
    for text in ("비밀", "번호", "를"):
        piece = term_piece(first, terms[text]["start"])
        assert piece.inner_text() == text
        assert piece.get_attribute("data-matched") == "true"
        assert float(piece.get_attribute("data-weight")) == round(terms[text]["weight"], 4)
        shade[text] = luminance(piece.evaluate("el => getComputedStyle(el).backgroundColor"))
    assert shade["비밀"] < shade["를"] and shade["번호"] < shade["를"]

    # Other hits: a piece is marked matched exactly when a term the API says that question
    # contains covers it (spans may overlap, e.g. 잊어버렸 and 렸).
    query_terms = expected["query_terms"]
    for hit_body, hit in zip(expected["hits"], page.get_by_test_id("hit").all(), strict=True):
        for piece in hit.get_by_test_id("term").all():
            start, end = int(piece.get_attribute("data-start")), int(piece.get_attribute("data-end"))
            covering = [i for i, t in enumerate(query_terms) if t["start"] <= start and t["end"] >= end]
            matched = any(i in hit_body["matched_terms"] for i in covering)
            assert piece.get_attribute("data-matched") == str(matched).lower(), (hit_body["id"], start)
    page.screenshot(path=artifacts / "search-page.png", full_page=True)


def test_switching_to_bm25_searches_again_in_that_mode(page, page_url):
    page.goto(page_url)
    search(page, QUERY)
    page.get_by_test_id("hit").first.wait_for()
    assert page.get_by_test_id("result-mode").inner_text() == "hybrid"

    page.get_by_test_id("mode-bm25").check()
    expect(page.get_by_test_id("result-mode")).to_have_text("bm25")
    expected = api_search(page_url, mode="bm25")
    assert expected["mode"] == "bm25"
    assert [h[0] for h in shown_hits(page)] == [h["id"] for h in expected["hits"]]
    assert shown_hits(page)[0] == FIRST_HIT


def test_a_hit_shows_the_alternate_it_matched_and_its_alternates(page, page_url, page_alternates, artifacts):
    faq_id, alternates = next(iter(page_alternates.items()))
    page.goto(page_url)
    search(page, alternates[1])
    page.get_by_test_id("hit").first.wait_for()
    expected = api_search(page_url, query=alternates[1])
    assert expected["hits"][0]["matched"] == {"kind": "alternate", "index": 1, "text": alternates[1]}
    first = page.get_by_test_id("hit").first
    assert first.get_attribute("data-id") == faq_id
    matched = first.get_by_test_id("hit-matched")
    assert matched.get_attribute("data-kind") == "alternate"
    assert matched.locator(".matched-label").inner_text() == "유사 질문 2와 일치"
    assert first.get_by_test_id("hit-matched-text").inner_text() == alternates[1]
    listed = first.get_by_test_id("hit-alternates")
    assert listed.locator("summary").inner_text() == "유사 질문 2개"
    assert not listed.locator("li").first.is_visible()  # folded away until asked for
    listed.locator("summary").click()
    assert listed.locator("li").all_inner_texts() == list(alternates)
    # Hits matched by their question say so, and entries without alternates list none.
    second = page.get_by_test_id("hit").nth(1)
    if expected["hits"][1]["matched"]["kind"] == "question":
        assert second.get_by_test_id("hit-matched").inner_text() == "질문과 일치"
    assert second.get_by_test_id("hit-alternates").count() == 0
    page.screenshot(path=artifacts / "search-page-alternate.png", full_page=True)


def test_empty_query_shows_a_korean_error(page, page_url):
    page.goto(page_url)
    page.get_by_role("button", name="검색").click()
    error = page.get_by_role("alert")
    expect(error).to_have_text(EMPTY_MESSAGE)
    search(page, "   ")
    expect(error).to_have_text(EMPTY_MESSAGE)
    # Text the browser sees as non-empty but the server normalises away (a zero-width space)
    # gets the server's 422 empty_text, which the page shows the same way.
    search(page, "\u200b")
    expect(page.get_by_test_id("status")).to_have_text("")
    expect(error).to_have_text(EMPTY_MESSAGE)
    assert page.get_by_test_id("hit").count() == 0


def test_not_ready_service_shows_a_korean_message(page, empty_url, artifacts):
    page.goto(empty_url)
    search(page, QUERY)
    error = page.get_by_role("alert")
    expect(error).to_contain_text(NOT_READY_MESSAGE)
    # The server's own reason follows, so an operator can see what to do.
    expect(error).to_contain_text("서버 메시지: no index in")
    assert page.get_by_test_id("hit").count() == 0
    page.screenshot(path=artifacts / "search-page-not-ready.png", full_page=True)


def test_page_assets_are_served_and_not_in_the_api_schema(page_url):
    assert httpx.get(f"{page_url}/").headers["content-type"].startswith("text/html")
    assert httpx.get(f"{page_url}/static/search.js").headers["content-type"].startswith("text/javascript")
    assert httpx.get(f"{page_url}/static/search.css").headers["content-type"].startswith("text/css")
    missing = httpx.get(f"{page_url}/static/page.py")  # only the page's own assets are served
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    paths = httpx.get(f"{page_url}/openapi.json").json()["paths"]
    assert "/" not in paths and not any(p.startswith("/static") for p in paths)


SECOND_QUERY = "아이디를 잊어버렸어요"


def test_the_newest_query_wins_over_one_still_in_flight(page, page_url):
    """Enter while a search is in flight starts the new one; the old answer is never drawn. The
    first request is held in the browser (its real answer from the server arrives late)."""
    held: list = []

    def hold_the_first(route):
        if not held:
            held.append(route)  # answered after the second search has drawn
        else:
            route.continue_()

    page.route("**/v1/search", hold_the_first)
    page.goto(page_url)
    search(page, QUERY)
    page.wait_for_function("() => document.querySelector('#results').getAttribute('aria-busy') === 'true'")
    assert page.get_by_test_id("search-button").is_enabled()
    search(page, SECOND_QUERY)
    expected = [h["id"] for h in api_search(page_url, query=SECOND_QUERY)["hits"]]
    assert expected[0] != FIRST_HIT[0]
    expect(page.get_by_test_id("hit").first).to_have_attribute("data-id", expected[0])
    assert [h[0] for h in shown_hits(page)] == expected
    # The first request was aborted; letting its real answer through now changes nothing.
    with contextlib.suppress(Exception):  # the browser may have dropped the aborted request already
        held[0].continue_()
    page.wait_for_timeout(1000)
    assert [h[0] for h in shown_hits(page)] == expected
    expect(page.get_by_test_id("error")).to_be_hidden()


def test_switching_the_mode_searches_the_text_now_in_the_box(page, page_url):
    page.goto(page_url)
    search(page, QUERY)
    expect(page.get_by_test_id("hit").first).to_have_attribute("data-id", FIRST_HIT[0])
    page.get_by_label("검색어").fill(SECOND_QUERY)  # typed, not yet searched
    page.get_by_test_id("mode-bm25").check()
    expect(page.get_by_test_id("result-mode")).to_have_text("bm25")
    expected = api_search(page_url, query=SECOND_QUERY, mode="bm25")
    expect(page.get_by_test_id("hit").first).to_have_attribute("data-id", expected["hits"][0]["id"])
    assert [h[0] for h in shown_hits(page)] == [h["id"] for h in expected["hits"]]


def test_the_input_stops_at_the_servers_query_limit(page, page_url):
    from faqsearch.settings import Settings

    page.goto(page_url)
    limit = Settings().max_query_chars
    assert page.get_by_label("검색어").get_attribute("maxlength") == str(limit) == "1000"
    page.get_by_label("검색어").fill("가" * (limit + 5))
    assert len(page.get_by_label("검색어").input_value()) == limit


def test_a_too_long_query_shows_a_korean_message(page, page_url):
    page.goto(page_url)
    # A script (or a paste the browser let through) can still set a longer value than maxlength.
    page.get_by_label("검색어").evaluate("el => { el.value = '가'.repeat(1001); }")
    page.get_by_label("검색어").press("Enter")
    error = page.get_by_role("alert")
    expect(error).to_have_text("검색어가 너무 깁니다. 1000자 이하로 줄여 주세요.")
    assert page.get_by_test_id("hit").count() == 0


def test_the_page_has_korean_text_for_the_apis_error_codes():
    """Codes the browser tests cannot provoke against a real server (a key, a limit of requests)
    still have Korean text, and an unknown code shows the code."""
    from app.routes.page import STATIC_DIR

    script = (STATIC_DIR / "search.js").read_text(encoding="utf-8")
    for line in (
        'unauthorized: () => "이 서버는 검색에 API 키가 필요합니다. 관리자에게 문의해 주세요."',
        'reads_disabled: () => "이 서버는 지금 검색을 받지 않습니다. 관리자에게 문의해 주세요."',
        'const BUSY_MESSAGE = "서버가 바쁩니다. 잠시 후 다시 시도해 주세요."',
        "return `${MESSAGES.failed} (오류 코드: ${code || `HTTP ${status}`})`;",
    ):
        assert line in script, line


def test_the_served_page_carries_the_configured_limit(tmp_path, tiny_encoder):
    from live_server import start_server

    from app.main import create_app
    from faqsearch.settings import Settings

    app = create_app(
        Settings(data_dir=tmp_path, model=tiny_encoder.name, max_query_chars=77), encoder=tiny_encoder
    )
    server, thread, url = start_server(app)
    try:
        html = httpx.get(f"{url}/").text
        assert html.count('maxlength="77"') == 1 and "{{max_query_chars}}" not in html
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def test_category_tabs_filter_the_search_as_the_api_does(page, page_url, artifacts):
    """Tabs for 전체 and the 10 largest categories (계정 5, 고객센터 2, then by name), the rest in
    a list; a tab limits the search to its category, 전체 searches everything again."""
    page.goto(page_url)
    tabs = page.get_by_test_id("category-tab")
    expect(tabs.first).to_have_text("전체 308")
    labels = [tabs.nth(i).inner_text() for i in range(tabs.count())]
    assert labels[:3] == ["전체 308", "계정 5", "고객센터 2"] and len(labels) == 11
    assert page.get_by_test_id("category-more").locator("option").count() == 1 + 308 - 5 - 2 - 8 * 1
    search(page, QUERY)
    page.get_by_test_id("hit").first.wait_for()
    page.get_by_test_id("category-tab").filter(has_text="계정").click()
    expect(page.get_by_test_id("category-tab").filter(has_text="계정")).to_have_attribute(
        "aria-selected", "true"
    )
    expected = api_search(page_url, categories=["계정"])
    expect(page.get_by_test_id("hit")).to_have_count(len(expected["hits"]))
    assert [h[0] for h in shown_hits(page)] == [h["id"] for h in expected["hits"]]
    assert {t.inner_text() for t in page.get_by_test_id("hit-category").all()} == {"계정"}
    page.screenshot(path=str(artifacts / "category-tab.png"), full_page=True)
    page.get_by_test_id("category-more").select_option("아동수당")
    expect(page.get_by_test_id("hit")).to_have_count(1)
    assert shown_hits(page)[0][0] == api_search(page_url, categories=["아동수당"])["hits"][0]["id"]
    page.get_by_test_id("category-tab").first.click()
    expected = api_search(page_url)
    expect(page.get_by_test_id("hit")).to_have_count(len(expected["hits"]))
    assert [h[0] for h in shown_hits(page)] == [h["id"] for h in expected["hits"]]
