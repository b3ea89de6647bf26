// The search page: POST /v1/search with explain, then show each hit with the query shaded by the
// BM25 weight of its morphemes. Plain DOM code, no framework, nothing loaded from elsewhere.
"use strict";

const TOP_K = 5;
const MESSAGES = {
  empty: "검색어를 입력해 주세요.",
  notReady: "검색 준비가 아직 끝나지 않았습니다. 잠시 후 다시 시도해 주세요.",
  network: "서버에 연결할 수 없습니다. 서버가 실행 중인지 확인해 주세요.",
  failed: "검색하지 못했습니다.",
  searching: "검색 중…",
  noHits: "찾은 FAQ가 없습니다.",
};

// The API's error codes are stable; its messages are English and for developers. People get
// Korean text for the codes a search can meet; any other code gets a generic line with the code.
const ERROR_MESSAGES = {
  empty_text: () => MESSAGES.empty,
  text_too_long: () => `검색어가 너무 깁니다. ${input.maxLength > 0 ? `${input.maxLength}자 이하로` : "더 짧게"} 줄여 주세요.`,
  not_ready: () => MESSAGES.notReady,
  unauthorized: () => "이 서버는 검색에 API 키가 필요합니다. 관리자에게 문의해 주세요.",
  reads_disabled: () => "이 서버는 지금 검색을 받지 않습니다. 관리자에게 문의해 주세요.",
  rate_limited: () => "요청이 너무 많습니다. 잠시 후 다시 시도해 주세요.",
  body_too_large: () => "검색어가 너무 깁니다. 더 짧게 줄여 주세요.",
};
const BUSY_MESSAGE = "서버가 바쁩니다. 잠시 후 다시 시도해 주세요."; // 429 or 503 without a known code

function errorMessage(status, code) {
  if (code && ERROR_MESSAGES[code]) return ERROR_MESSAGES[code]();
  if (status === 429 || status === 503) return BUSY_MESSAGE;
  return `${MESSAGES.failed} (오류 코드: ${code || `HTTP ${status}`})`;
}

const $ = (id) => document.getElementById(id);
const form = $("search-form");
const input = $("query");
const errorBox = $("error");
const statusLine = $("status");
const resultsSection = $("results-section");
const results = $("results");
const tabs = $("categories");

// The category tab chosen: null searches every entry (전체).
let selectedCategory = null;

// The newest search always wins: a new one aborts the one in flight, and an answer to an older
// request is never drawn. The input and button stay enabled so Enter always starts a search.
let latestRequest = 0;
let inFlight = null;

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "className") node.className = value;
    else node.setAttribute(key, value);
  }
  node.append(...children);
  return node;
}

// Mirror of the server's normalize_text (NFC, whitespace collapsed), so the term offsets it
// returns index the same characters here. Offsets count code points, hence Array.from.
function normalizeQuery(text) {
  return Array.from(text.normalize("NFC").replace(/\s+/g, " ").trim());
}

function selectedMode() {
  const checked = form.querySelector('input[name="mode"]:checked');
  return checked ? checked.value : null;
}

// An error replaces the results: old hits under a new error would look like its answer.
function showError(message, detail) {
  results.replaceChildren();
  resultsSection.hidden = true;
  statusLine.textContent = "";
  errorBox.replaceChildren(el("p", {}, message));
  if (detail) errorBox.append(el("p", { className: "detail" }, `서버 메시지: ${detail}`));
  errorBox.hidden = false;
}

function clearError() {
  errorBox.hidden = true;
  errorBox.replaceChildren();
}

// Darker for heavier terms. Terms the hit's question lacks stay pale and get a dashed outline,
// so the colour alone never carries the meaning.
function shade(weight, maxWeight, matched) {
  const intensity = maxWeight > 0 ? Math.min(Math.max(weight / maxWeight, 0), 1) : 0;
  if (!matched) return { background: `hsl(215 25% ${Math.round(97 - 17 * intensity)}%)`, color: "" };
  const lightness = Math.round(94 - 52 * intensity);
  return { background: `hsl(215 75% ${lightness}%)`, color: lightness < 62 ? "#fff" : "" };
}

function termSpan(text, start, end, weight, matched, maxWeight, label) {
  const { background, color } = shade(weight, maxWeight, matched);
  const span = el(
    "span",
    {
      className: `term ${matched ? "matched" : "unmatched"}`,
      "data-testid": "term",
      "data-start": String(start),
      "data-end": String(end),
      "data-weight": weight.toFixed(4),
      "data-matched": String(matched),
      title: `${label} · 가중치 ${weight.toFixed(2)} · ${matched ? "이 질문에 있음" : "이 질문에 없음"}`,
    },
    text,
  );
  span.style.backgroundColor = background;
  if (color) span.style.color = color;
  return span;
}

// The query with every morpheme span shaded. Spans may overlap (잊어버렸 and 렸), so the query is
// cut at every span edge and each piece takes the largest weight of the spans covering it; a
// piece is "matched" when any matched span covers it, and then shows that span's weight.
function shadedQuery(chars, terms, matchedIndexes) {
  const maxWeight = Math.max(0, ...terms.map((t) => t.weight));
  const matched = new Set(matchedIndexes || []);
  const fits = terms.every((t) => chars.slice(t.start, t.end).join("") === t.text);
  if (!fits) {
    // The offsets do not index this text (an unusual normalisation difference): show the terms
    // one by one instead of over the query.
    return terms.map((t, i) =>
      termSpan(t.text, t.start, t.end, t.weight, matched.has(i), maxWeight, t.text),
    );
  }
  const edges = [...new Set([0, chars.length, ...terms.flatMap((t) => [t.start, t.end])])].sort(
    (a, b) => a - b,
  );
  const pieces = [];
  for (let k = 0; k + 1 < edges.length; k++) {
    const [a, b] = [edges[k], edges[k + 1]];
    const text = chars.slice(a, b).join("");
    const covering = terms.map((t, i) => [t, i]).filter(([t]) => t.start <= a && t.end >= b);
    if (covering.length === 0) {
      pieces.push(document.createTextNode(text));
      continue;
    }
    const hits = covering.filter(([, i]) => matched.has(i));
    const best = (list) => list.reduce((x, y) => (y[0].weight > x[0].weight ? y : x))[0];
    const isMatched = hits.length > 0;
    const term = best(isMatched ? hits : covering);
    const label = covering.map(([t]) => t.text).join(", ");
    pieces.push(termSpan(text, a, b, term.weight, isMatched, maxWeight, label));
  }
  return pieces;
}

// 과 after a number read with a final consonant (일, 삼, 육, 칠, 팔, 십...), 와 after one without
// (이, 사, 오, 구): "유사 질문 2와", "유사 질문 3과". Alternates are at most 50, so the last digit decides.
function withGwaWa(number) {
  return `${number}${[2, 4, 5, 9].includes(number % 10) ? "와" : "과"}`;
}

// Which text of the entry matched the query (`matched` in the API): a small label, with the text
// itself when it is not the question shown above. Numbers count from 1, as people count.
function matchedLine(matched) {
  const kind = matched ? matched.kind : "question";
  const attrs = { className: "matched", "data-testid": "hit-matched", "data-kind": kind };
  if (kind === "question") return el("p", attrs, el("span", { className: "matched-label" }, "질문과 일치"));
  const label =
    kind === "alternate" ? `유사 질문 ${withGwaWa(matched.index + 1)} 일치` : "답변과 일치";
  return el(
    "p",
    attrs,
    el("span", { className: "matched-label" }, label),
    ": ",
    el("q", { className: "matched-text", "data-testid": "hit-matched-text" }, matched.text),
  );
}

// The entry's other phrasings, folded away under the question; nothing when it has none.
function alternatesList(alternates) {
  if (!alternates || alternates.length === 0) return "";
  return el(
    "details",
    { className: "alternates", "data-testid": "hit-alternates" },
    el("summary", {}, `유사 질문 ${alternates.length}개`),
    el("ol", {}, ...alternates.map((text) => el("li", {}, text))),
  );
}

function renderHit(hit, chars, terms) {
  const matchedWords = (hit.matched_terms || []).map((i) => terms[i].text);
  const summary = matchedWords.length
    ? `질문에 있는 검색어 낱말: ${[...new Set(matchedWords)].join(", ")}`
    : "질문에 검색어 낱말이 없습니다";
  return el(
    "li",
    { className: "hit", "data-testid": "hit", "data-id": hit.id, "data-rank": String(hit.rank) },
    el(
      "div",
      { className: "hit-head" },
      el("span", { className: "rank", "aria-label": `${hit.rank}위` }, `${hit.rank}.`),
      el("h3", { className: "question", "data-testid": "hit-question" }, hit.question),
      hit.category
        ? el("span", { className: "category", "data-testid": "hit-category" }, hit.category)
        : "",
      el("span", { className: "score", "data-testid": "hit-score" }, `점수 ${hit.score.toFixed(3)}`),
    ),
    alternatesList(hit.alternates),
    matchedLine(hit.matched),
    el("p", { className: "answer", "data-testid": "hit-answer" }, hit.answer || "(답변 없음)"),
    el(
      "p",
      { className: "terms", "data-testid": "hit-terms" },
      el("span", { className: "visually-hidden" }, `${summary}. `),
      ...shadedQuery(chars, terms, hit.matched_terms),
    ),
  );
}

function renderResults(body, chars) {
  const terms = body.query_terms || [];
  results.replaceChildren(...body.hits.map((hit) => renderHit(hit, chars, terms)));
  resultsSection.hidden = body.hits.length === 0;
  const radio = form.querySelector(`input[name="mode"][value="${body.mode}"]`);
  if (radio) radio.checked = true; // the switch shows the mode that answered
  statusLine.replaceChildren(
    body.hits.length ? `결과 ${body.hits.length}건 · 방식: ` : `${MESSAGES.noHits} 방식: `,
    el("span", { id: "result-mode", "data-testid": "result-mode" }, body.mode),
    ` · ${body.took_ms.toFixed(1)} ms`,
  );
}

async function search() {
  const request = ++latestRequest;
  if (inFlight) inFlight.abort();
  inFlight = null;
  const chars = normalizeQuery(input.value);
  clearError();
  if (chars.length === 0) {
    results.removeAttribute("aria-busy");
    showError(MESSAGES.empty);
    input.focus();
    return;
  }
  const controller = new AbortController();
  inFlight = controller;
  const payload = { query: chars.join(""), top_k: TOP_K, explain: true };
  const mode = selectedMode();
  if (mode) payload.mode = mode;
  if (selectedCategory !== null) payload.categories = [selectedCategory];
  statusLine.textContent = MESSAGES.searching;
  results.setAttribute("aria-busy", "true");
  try {
    const response = await fetch("/v1/search", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(payload),
      signal: controller.signal,
    });
    const body = await response.json().catch(() => null);
    if (request !== latestRequest) return;
    if (response.ok && body) {
      renderResults(body, chars);
      return;
    }
    const error = (body && body.error) || {};
    // The server's own words follow where they help an operator: not ready, or a code we do not know.
    const known = error.code && ERROR_MESSAGES[error.code];
    const detail = error.code === "not_ready" || !known ? error.message || response.statusText : "";
    showError(errorMessage(response.status, error.code), detail);
  } catch {
    // An aborted request was replaced by a newer one, which draws instead.
    if (request === latestRequest) showError(MESSAGES.network);
  } finally {
    if (request === latestRequest) {
      inFlight = null;
      results.removeAttribute("aria-busy");
    }
  }
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  search();
});

// Switching the mode searches again at once, for the text now in the box (not the last one
// searched), when there is something to search for.
for (const radio of form.querySelectorAll('input[name="mode"]')) {
  radio.addEventListener("change", () => {
    if (normalizeQuery(input.value).length) search();
  });
}

// Tabs for 전체 and the MAX_TABS largest categories; the rest (a FAQ may have hundreds) in a
// list after them. Choosing either searches again for the text in the box.
const MAX_TABS = 10;

function chooseCategory(name) {
  selectedCategory = name;
  for (const tab of tabs.querySelectorAll('[role="tab"]')) {
    const tabName = tab.dataset.category === "" ? null : tab.dataset.category;
    tab.setAttribute("aria-selected", String(tabName === name));
  }
  const more = tabs.querySelector("select");
  if (more) more.value = more.querySelector(`option[value="${CSS.escape(name || "")}"]`) ? name || "" : "";
  if (normalizeQuery(input.value).length) search();
}

function categoryTab(name, label, count) {
  const tab = el(
    "button",
    {
      type: "button",
      role: "tab",
      className: "tab",
      "data-testid": "category-tab",
      "data-category": name === null ? "" : name,
      "aria-selected": String(name === selectedCategory),
    },
    label,
    el("span", { className: "count" }, ` ${count}`),
  );
  tab.addEventListener("click", () => chooseCategory(name));
  return tab;
}

function moreCategories(rest) {
  const select = el(
    "select",
    { className: "more", "data-testid": "category-more", "aria-label": "다른 분류" },
    el("option", { value: "" }, `다른 분류 (${rest.length})`),
    ...rest.map((c) => el("option", { value: c.name }, `${c.name} ${c.entries}`)),
  );
  select.addEventListener("change", () => chooseCategory(select.value || null));
  return select;
}

// The tabs come from the served index; without categories (or if the list cannot be read) the
// page is the plain search page, with no tabs.
async function loadCategories() {
  try {
    const response = await fetch("/v1/categories");
    if (!response.ok) return;
    const body = await response.json();
    if (!body.categories || body.categories.length === 0) return;
    const total = body.categories.reduce((sum, c) => sum + c.entries, 0);
    const largest = [...body.categories].sort((a, b) => b.entries - a.entries || (a.name < b.name ? -1 : 1));
    const shown = largest.slice(0, MAX_TABS);
    const rest = largest.slice(MAX_TABS).sort((a, b) => (a.name < b.name ? -1 : 1));
    tabs.replaceChildren(
      categoryTab(null, "전체", total),
      ...shown.map((c) => categoryTab(c.name, c.name, c.entries)),
      ...(rest.length ? [moreCategories(rest)] : []),
    );
    tabs.hidden = false;
  } catch {
    // no tabs: searching still works
  }
}

loadCategories();
