"""Text normalisation: the one place where input text is cleaned before anything sees it."""

from __future__ import annotations

import unicodedata

from models.errors import InvalidValueError

# Zero-width joiners shape emoji and some scripts; every other format character (BOM,
# zero-width space, soft hyphen, bidi marks) is invisible noise in a search query.
_KEPT_FORMAT_CHARS = frozenset("\u200c\u200d")


def _keep(ch: str) -> bool:
    category = unicodedata.category(ch)
    if category in ("Cc", "Cs"):  # controls (NUL, ESC, ...) and lone surrogates
        return False
    return category != "Cf" or ch in _KEPT_FORMAT_CHARS


def _drop_invisible(text: str) -> str:
    return "".join(ch if _keep(ch) else (" " if ch.isspace() else "") for ch in text)


def normalize_text(text: str) -> str:
    """Return `text` as Unicode NFC with control characters removed and whitespace collapsed.

    NFD Hangul (as macOS file names and some clipboards produce) becomes the same string as its
    NFC spelling, so both give identical tokens and vectors. Tabs and newlines count as spaces.
    Controls are removed *before* composing, so a NUL between two jamo cannot block composition.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be str, not {type(text).__name__}")
    # str.isprintable() is False for every character _keep drops (Cc, Cf, Cs) and for every space
    # but " ", so a printable text keeps every character: skip the per-character loop.
    cleaned = text if text.isprintable() else _drop_invisible(text)
    return " ".join(unicodedata.normalize("NFC", cleaned).split())


def normalize_prefix(prefix: str) -> str:
    """A model prefix ('query: ') in NFC, like the texts it goes before, spaces kept as given (the
    trailing one is part of it). Control and invisible characters (a newline or NUL from an env
    file) are refused rather than dropped: they would move every vector unnoticed."""
    bad = [f"U+{ord(ch):04X}" for ch in prefix if not _keep(ch) or ch in _KEPT_FORMAT_CHARS]
    if bad:
        raise InvalidValueError(
            f"the prefix {prefix!r} holds control or invisible characters ({', '.join(bad)}); give plain "
            "text such as 'passage: ', or an empty value for no prefix"
        )
    return unicodedata.normalize("NFC", prefix)


def normalize_multiline(text: str) -> str:
    """Like `normalize_text` (NFC, controls and invisible characters removed), but keeping the
    layout of text shown to people, such as a FAQ's answer: line breaks, tabs and runs of spaces
    stay, so a numbered list or a code line survives. CRLF, CR, U+2028 and U+2029 become LF; spaces at line ends and
    blank lines at both ends go."""
    if not isinstance(text, str):
        raise TypeError(f"text must be str, not {type(text).__name__}")
    for line_break in ("\r\n", "\r", "\u2028", "\u2029"):  # CRLF, CR, Unicode line/paragraph separators
        text = text.replace(line_break, "\n")
    cleaned = "".join(
        ch if ch in "\n\t" else (ch if _keep(ch) else (" " if ch.isspace() else "")) for ch in text
    )
    lines = unicodedata.normalize("NFC", cleaned).split("\n")
    return "\n".join(line.rstrip() for line in lines).strip()


def normalize_sentences(texts: object) -> list[str]:
    """Normalise a list of sentences; a non-list, a non-str item or an empty sentence is an error
    that names the sentence, since an empty query cannot mean anything."""
    from collections.abc import Sequence

    if isinstance(texts, str) or not isinstance(texts, Sequence):
        raise TypeError("texts must be a list of strings (wrap a single sentence in a list)")
    normalised = []
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"sentence {i} is {type(text).__name__}, not str")
        clean = normalize_text(text)
        if not clean:
            raise InvalidValueError(
                f"sentence {i} is empty after normalisation (only whitespace or control characters); "
                "send at least one visible character"
            )
        normalised.append(clean)
    return normalised
