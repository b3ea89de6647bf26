"""The `faqsearch` command line. Each command imports its layer only when it runs."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from faqsearch.settings import get_settings

cli = typer.Typer(
    name="faqsearch",
    help="Semantic similarity search for Korean FAQs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@cli.callback()
def _root() -> None:
    """Semantic similarity search for Korean FAQs. Settings come from FAQSEARCH_* environment variables."""


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print a one-line error (no traceback) and return the exit to raise."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


ModelOption = Annotated[
    str | None, typer.Option("--model", help="Model folder or hub id. Default: FAQSEARCH_MODEL.")
]
PoolingOption = Annotated[
    str | None,
    typer.Option(
        "--pooling",
        help="cls | mean | max | bm25, optionally @-N (one layer) or @lastN (average of the last N). "
        "Default: FAQSEARCH_POOLING.",
    ),
]


def load_encoder(model: str | None):
    from models.encoder import Encoder

    settings = get_settings()
    return Encoder.load(
        model or settings.model,
        device=settings.device,
        precision=settings.precision,
        prefix=settings.model_prefix,
        max_length=settings.max_length,
        batch_size=settings.batch_size,
    )


def read_lines(path: Path) -> list[str]:
    """Non-blank lines of a UTF-8 text file (BOM tolerated)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise fail(f"cannot read {path}: {exc}; give a UTF-8 text file with one sentence per line") from exc
    return [line for line in text.splitlines() if line.strip()]


@cli.command()
def embed(
    sentences: Annotated[
        list[str] | None, typer.Argument(help="Sentences to embed; none: read one per line from stdin.")
    ] = None,
    pooling: PoolingOption = None,
    model: ModelOption = None,
    corpus: Annotated[
        Path | None,
        typer.Option(
            "--corpus", help="One sentence per line: the corpus that BM25 statistics are fitted on."
        ),
    ] = None,
) -> None:
    """Print one JSON line per sentence: {"text", "vector", "truncated"}."""
    from models.pooling import parse_pooling

    try:
        spec = parse_pooling(pooling or get_settings().pooling)
    except ValueError as exc:
        raise fail(str(exc)) from exc
    texts = list(sentences) if sentences else [line for line in sys.stdin.read().splitlines() if line.strip()]
    if not texts:
        raise fail("no sentences: give them as arguments or one per line on stdin")
    if spec.needs_bm25 and corpus is None:
        raise fail(f"pooling {spec.name!r} needs BM25 statistics: pass --corpus FILE (one sentence per line)")
    try:
        bm25 = None
        if corpus is not None:
            from models.bm25 import Bm25Stats
            from models.morphemes import terms
            from models.text import normalize_text

            bm25 = Bm25Stats.fit(terms([normalize_text(line) for line in read_lines(corpus)]))
        encoder = load_encoder(model)
        encoded = encoder.encode(texts, spec, bm25=bm25)
    except (ValueError, TypeError) as exc:
        raise fail(str(exc)) from exc
    out = sys.stdout
    for text, vector, truncated in zip(texts, encoded.vectors, encoded.truncated, strict=True):
        record = {"text": text, "vector": vector.tolist(), "truncated": bool(truncated)}
        out.write(json.dumps(record, ensure_ascii=False) + "\n")


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
