"""The `faqsearch` command line. Each command imports its layer only when it runs."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from faqsearch.settings import Settings, get_settings
from models.errors import FaqsearchError, InvalidValueError

if TYPE_CHECKING:
    from eval.retrieval import CorpusView
    from eval.testset import RankingSet, StsSet
    from eval.variants import Variant
    from models.encoder import Encoder

cli = typer.Typer(
    name="faqsearch",
    help="Semantic similarity search for Korean FAQs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _print_version(asked: bool) -> None:
    if asked:
        from importlib.metadata import version

        typer.echo(f"faqsearch {version('faqsearch')}")
        raise typer.Exit()


@cli.callback()
def _root(
    _version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
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
        help="cls | mean | max | bm25 | mean_with_padding, optionally @-N (one layer) or @lastN (average of "
        "the last N). "
        "Default: FAQSEARCH_POOLING.",
    ),
]


def load_encoder(model: str | None, *, precision: str | None = None):
    from models.encoder import Encoder

    settings = get_settings()
    options = settings.encoder_options()
    if precision is not None:
        options["precision"] = precision
    return Encoder.load(model or settings.model, **options)  # type: ignore[arg-type]


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
    from models.pooling_spec import parse_pooling

    try:
        spec = parse_pooling(pooling or get_settings().pooling)
    except FaqsearchError as exc:
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

            bm25 = Bm25Stats.fit(
                terms([normalize_text(line) for line in read_lines(corpus)]),
                function_weight=get_settings().function_word_weight,
            )
        from models.embedder import Embedder

        encoded = Embedder.bind(load_encoder(model), spec, bm25).encode(texts)
    except FaqsearchError as exc:
        raise fail(str(exc)) from exc
    out = sys.stdout
    for text, vector, truncated in zip(texts, encoded.vectors, encoded.truncated, strict=True):
        record = {"text": text, "vector": vector.tolist(), "truncated": bool(truncated)}
        out.write(json.dumps(record, ensure_ascii=False) + "\n")


faqs_cli = typer.Typer(help="Manage the FAQ entries of a data directory.", no_args_is_help=True)
index_cli = typer.Typer(help="Build and manage index snapshots.", no_args_is_help=True)
cli.add_typer(faqs_cli, name="faqs")
cli.add_typer(index_cli, name="index")

# One name for the data directory in every command; the older --index and --out still work.
_DATA_DIR_HELP = "Data directory of the FAQ collection. Default: FAQSEARCH_DATA_DIR."
DirOption = Annotated[Path | None, typer.Option("--data-dir", "--index", "--out", help=_DATA_DIR_HELP)]


def data_dir_of(option: Path | None) -> Path:
    return option if option is not None else get_settings().data_dir


@contextmanager
def encoding_progress() -> Iterator[Callable[[int, int], None]]:
    """A tqdm bar on stderr fed by `progress(done, total)` calls. A new total restarts it, clock
    included: its rate then counts encoding only, not the model and Kiwi loading before it."""
    from tqdm import tqdm

    with tqdm(total=0, unit="sent", desc="encoding", file=sys.stderr, dynamic_ncols=True) as bar:

        def progress(done: int, total: int) -> None:
            if bar.total != total:
                bar.reset(total=total)
            bar.update(done - bar.n)

        yield progress


def print_json(payload: object) -> None:
    sys.stdout.write(json.dumps(payload, ensure_ascii=False) + "\n")


@faqs_cli.command("import")
def faqs_import(
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV or TSV (UTF-8 or CP949), JSONL or XLSX: id, question[, answer][, category]."
        ),
    ],
    data_dir: DirOption = None,
) -> None:
    """Import (upsert by id) FAQ entries; a file with any bad row changes nothing."""
    from indexing.faq_import import import_faqs
    from indexing.store import FaqStore

    try:
        with FaqStore.open(data_dir_of(data_dir), write_wait_s=get_settings().write_wait_s) as store:
            result = import_faqs(store, file)
            total = store.count()
    except (FaqsearchError, OSError) as exc:
        raise fail(str(exc)) from exc
    typer.echo(
        f"imported {file}: {result.inserted} new, {result.updated} updated, {result.unchanged} unchanged; "
        f"{total} entries in {data_dir_of(data_dir)}",
        err=True,
    )


@index_cli.command("build")
def index_build(
    faqs: Annotated[
        Path | None, typer.Option("--faqs", help="Import this FAQ file first (upsert by id).")
    ] = None,
    data_dir: DirOption = None,
    model: ModelOption = None,
    pooling: PoolingOption = None,
    index_type: Annotated[
        str | None,
        typer.Option("--index-type", help="flat (exact) | hnsw | ivf. Default: FAQSEARCH_INDEX_TYPE."),
    ] = None,
) -> None:
    """Encode every FAQ entry, build the FAISS index and switch to the new snapshot atomically."""
    from indexing.build import build_snapshot
    from indexing.faq_import import import_faqs
    from indexing.store import FaqStore
    from indexing.vector_index import IndexParams
    from models.pooling_spec import parse_pooling

    settings = get_settings()
    data_dir = data_dir_of(data_dir)
    try:
        spec = parse_pooling(pooling or settings.pooling)
        params = IndexParams(type=index_type or settings.index_type)
        if faqs is not None:
            with FaqStore.open(data_dir, write_wait_s=settings.write_wait_s) as store:
                import_faqs(store, faqs)
        encoder = load_encoder(model)
        with encoding_progress() as progress:
            result = build_snapshot(
                data_dir,
                encoder,
                spec.name,
                params,
                keep=settings.snapshot_keep,
                progress=progress,
                function_weight=settings.function_word_weight,
                words=settings.domain_words(),
                rows=settings.row_policy(),
            )
    except (FaqsearchError, OSError) as exc:
        raise fail(str(exc)) from exc
    typer.echo(
        f"built {result.snapshot.version} in {data_dir}: {result.count} entries, {encoder.name}, "
        f"pooling {spec.name}, {params.type} index, {result.seconds:.1f}s "
        f"({result.encode_seconds:.1f}s encoding)",
        err=True,
    )


@index_cli.command("list")
def index_list(index: DirOption = None) -> None:
    """One JSON line per snapshot, oldest first."""
    from indexing.snapshots import Snapshots

    data_dir = data_dir_of(index)
    if not data_dir.is_dir():  # a typo in the path, not an empty collection
        raise fail(
            f"no data directory {data_dir}; set FAQSEARCH_DATA_DIR or --data-dir to a collection's folder "
            "(faqsearch index build --faqs FILE creates one)"
        )
    try:
        for info in Snapshots(data_dir).list():
            print_json(
                {
                    "version": info.version,
                    "current": info.is_current,
                    "count": info.manifest.get("count"),
                    "pooling": info.manifest.get("pooling"),
                    "created_at": info.manifest.get("created_at"),
                }
            )
    except (FaqsearchError, OSError) as exc:
        raise fail(str(exc)) from exc


@index_cli.command("verify")
def index_verify(index: DirOption = None) -> None:
    """Check every snapshot's files against the sizes and sha256 its manifest recorded: one line per
    snapshot. Exit 0 when the current one is good, 1 when it is damaged or missing."""
    from indexing.snapshots import SnapshotError, Snapshots

    data_dir = data_dir_of(index)
    if not data_dir.is_dir():
        raise fail(
            f"no data directory {data_dir}; set FAQSEARCH_DATA_DIR or --data-dir to a collection's folder"
        )
    snapshots = Snapshots(data_dir)
    try:
        verdicts = snapshots.verify()
    except OSError as exc:
        raise fail(str(exc)) from exc
    try:
        current = snapshots.current()
    except SnapshotError as exc:  # a garbled CURRENT: the snapshots' lines are still worth printing
        current = None
        typer.echo(f"error: {exc}", err=True)
    for verdict in verdicts:
        typer.echo(verdict.line())
    served = next((v for v in verdicts if v.version == current), None)
    if served is not None and served.problem is None:
        return
    if current is not None:
        state = "is damaged" if served is not None else "has no folder"
        typer.echo(
            f"error: the current snapshot {current} {state}; roll back to a good one (faqsearch index "
            "rollback VERSION) or rebuild the index (faqsearch index build)",
            err=True,
        )
    elif not verdicts:
        typer.echo(
            f"error: there is no index snapshot in {data_dir}; build one (faqsearch index build)", err=True
        )
    raise typer.Exit(1)


@index_cli.command("info")
def index_info(
    version: Annotated[str | None, typer.Argument(help="Snapshot version; default: the current one.")] = None,
    index: DirOption = None,
) -> None:
    """Print a snapshot's manifest."""
    from indexing.snapshots import Snapshots

    try:
        info = Snapshots(data_dir_of(index)).info(version)
    except (FaqsearchError, OSError) as exc:
        raise fail(str(exc)) from exc
    print_json({"version": info.version, "current": info.is_current, "manifest": info.manifest})


@index_cli.command("rollback")
def index_rollback(
    version: Annotated[
        str | None, typer.Argument(help="Snapshot to switch to; default: the previous one.")
    ] = None,
    index: DirOption = None,
) -> None:
    """Switch the current snapshot back to an older one."""
    from indexing.snapshots import Snapshots

    try:
        info = Snapshots(data_dir_of(index)).rollback(version)
    except (FaqsearchError, OSError) as exc:
        raise fail(str(exc)) from exc
    typer.echo(f"current snapshot is now {info.version}", err=True)


@cli.command()
def search(
    queries: Annotated[list[str], typer.Argument(help="Queries (one JSON line of hits each).")],
    index: DirOption = None,
    top_k: Annotated[int, typer.Option("--top-k", min=1, max=100, help="Hits per query.")] = 10,
    mode: Annotated[
        str | None, typer.Option("--mode", help="dense | bm25 | hybrid. Default: FAQSEARCH_SEARCH_MODE.")
    ] = None,
    model: ModelOption = None,
    category: Annotated[
        list[str] | None,
        typer.Option("--category", help="Only entries in this category; repeat for several."),
    ] = None,
) -> None:
    """Search the index: one JSON line per query, {"query", "hits": [{"id", "question", "score"}]}."""
    from indexing.searcher import Searcher, check_mode, normalize_categories

    settings = get_settings()
    try:
        chosen_mode = check_mode(mode or settings.search_mode)
        searcher = Searcher.open(
            data_dir_of(index),
            load_encoder(model),
            rrf_k=settings.rrf_k,
            fusion=settings.hybrid_fusion,
            hybrid_weight=settings.hybrid_weight,
            function_weight=settings.function_word_weight,
            words=settings.domain_words(),
            rows=settings.row_policy(),
        )
        if category:
            known = searcher.index.categories()
            unknown = [name for name in normalize_categories(category) if name not in known]
            if unknown:  # a warning, not an error: the filter still runs (as the API's `note`)
                typer.echo(
                    f"note: no entry has the category {', '.join(map(repr, unknown))}; the index has "
                    f"{', '.join(map(repr, known)) or 'no categories'}",
                    err=True,
                )
        results = searcher.search(queries, top_k=top_k, mode=chosen_mode, categories=category or None)
        assert searcher.store is not None
        for query, hits in zip(queries, results, strict=True):
            entries = {h.id: searcher.store.get(h.id) for h in hits}
            print_json(
                {
                    "query": query,
                    "hits": [
                        {"id": h.id, "question": getattr(entries[h.id], "question", None), "score": h.score}
                        for h in hits
                    ],
                }
            )
    except (FaqsearchError, OSError) as exc:
        raise fail(str(exc)) from exc


def _answerability_report(
    loaded: RankingSet | StsSet,
    chosen: list[Variant],
    encoder: Encoder | None,
    view: CorpusView,
    cache: Path | None,
    out: Path | None,
) -> None:
    """`faqsearch eval --answerability`: write answerability.json/.md and print the table."""
    from eval.answerability import markdown
    from eval.cache import VectorCache, default_cache_dir
    from eval.runner import evaluate_answerability
    from eval.testset import RankingSet

    settings = get_settings()
    if not isinstance(loaded, RankingSet):
        raise InvalidValueError(f"{loaded.name} is an STS set: --answerability needs a ranking set")
    with (
        VectorCache(cache or settings.eval_cache or default_cache_dir()) as vector_cache,
        encoding_progress() as progress,
    ):
        result = evaluate_answerability(
            loaded,
            chosen,
            encoder=encoder,
            cache=vector_cache,
            progress=progress,
            function_weight=settings.function_word_weight,
            view=view,
        )
    folder = out or Path("eval/reports") / loaded.name
    folder.mkdir(parents=True, exist_ok=True)
    text = json.dumps(result, ensure_ascii=False, indent=2) + "\n"
    (folder / "answerability.json").write_text(text, encoding="utf-8")
    table = markdown(result)
    (folder / "answerability.md").write_text(table, encoding="utf-8")
    sys.stdout.write(table)


def _entry_views(options: list[str] | None, settings: Settings) -> dict[str, CorpusView]:
    """--entries values -> {label: view}; none given: what the service indexes with `settings`."""
    from eval.retrieval import parse_view

    if not options:
        policy = settings.row_policy()
        options = [f"answers@{policy.answer_weight:g}" if policy.answers else "alternates"]
    labels = [o.strip().lower() for o in options]
    if len(set(labels)) != len(labels):
        raise InvalidValueError(f"--entries names a view twice: {', '.join(options)}")
    return {label: parse_view(label) for label in labels}


def _has_answers(testset) -> bool:
    return any(getattr(entry, "answer", None) for entry in getattr(testset, "corpus", ()))


def _function_weights(option: str | None) -> list[float]:
    """--function-weights 1,0,0.25 -> [1.0, 0.0, 0.25]; the error names the bad item and the range."""
    weights = []
    for item in (option or "").split(","):
        if not item.strip():
            continue
        try:
            weight = float(item)
        except ValueError:
            weight = float("nan")
        if not 0.0 <= weight <= 1.0:
            raise InvalidValueError(f"--function-weights: {item.strip()!r} is not a number within [0, 1]")
        weights.append(weight)
    if len(set(weights)) != len(weights):
        raise InvalidValueError(f"--function-weights names a weight twice: {option}")
    return weights


@cli.command("eval")
def eval_command(
    testset: Annotated[
        Path, typer.Option("--testset", help="Test set folder: ranking or STS (see testsets/README.md).")
    ],
    variants: Annotated[
        str,
        typer.Option(
            "--variants",
            help="Comma-separated variants or 'all': a pooling (cls, mean, max, mean_with_padding, bm25, "
            "@-N, @lastN), bm25_lexical, rrf:POOLING[:k=K], convex:POOLING[:w=W].",
        ),
    ] = "all",
    baseline: Annotated[
        str, typer.Option("--baseline", help="Variant the others are tested against.")
    ] = "mean",
    model: ModelOption = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Report folder. Default: eval/reports/<test set name>.")
    ] = None,
    cache: Annotated[
        Path | None,
        typer.Option(
            "--cache",
            help="Vector cache folder. Default: FAQSEARCH_EVAL_CACHE, else ~/.cache/faqsearch/eval.",
        ),
    ] = None,
    precisions: Annotated[
        str | None,
        typer.Option(
            "--precisions",
            help="Comma-separated precisions (fp32, bf16, int8, fp16): every variant in each, named "
            "'VARIANT [PRECISION]', tested against the baseline in the first. Default: FAQSEARCH_PRECISION alone.",
        ),
    ] = None,
    query_prefixes: Annotated[
        list[str] | None,
        typer.Option(
            "--query-prefix",
            help="Text before queries. Repeat to compare (with --entry-prefix: one of a side for every "
            "value of the other, or pairs by position), named 'VARIANT ['QUERY'/'ENTRY']', tested "
            "against the baseline under the first pair. Default: FAQSEARCH_MODEL_PREFIX.",
        ),
    ] = None,
    entry_prefixes: Annotated[
        list[str] | None,
        typer.Option(
            "--entry-prefix",
            help="Text before corpus entries; repeat to compare (see --query-prefix). "
            "Default: FAQSEARCH_ENTRY_PREFIX, unset: the query prefix.",
        ),
    ] = None,
    function_weights: Annotated[
        str | None,
        typer.Option(
            "--function-weights",
            help="Comma-separated BM25 function-word weights in [0, 1] (e.g. 1,0,0.25): every variant at "
            "each, named 'VARIANT [fw=F]', tested against the baseline at the first. Default: "
            "FAQSEARCH_FUNCTION_WORD_WEIGHT alone.",
        ),
    ] = None,
    answerability: Annotated[
        bool,
        typer.Option(
            "--answerability",
            help="Instead of ranking metrics: remove a third of the entries (seeded) and report how well "
            "each variant's top score separates queries with an answer left from those without (AUC, "
            "the threshold at 90% precision); writes answerability.json/.md.",
        ),
    ] = False,
    entries: Annotated[
        list[str] | None,
        typer.Option(
            "--entries",
            help="What of each corpus entry is indexed: question (alone), alternates (and its alternates), "
            "answers or answers@W (and its answer, chunked; W: the answer rows' weight). Repeat to compare, "
            "named 'VARIANT [VIEW]', tested against the baseline under the first. Default: alternates, "
            "and answers if FAQSEARCH_INDEX_ANSWERS (@FAQSEARCH_ANSWER_WEIGHT).",
        ),
    ] = None,
) -> None:
    """Evaluate variants on a test set: write report.json, report.md and report.png to --out and
    print the Markdown table."""
    from eval.cache import VectorCache, default_cache_dir
    from eval.report import markdown_table, write_report
    from eval.runner import (
        evaluate,
        evaluate_function_weights,
        evaluate_precisions,
        evaluate_prefixes,
        evaluate_views,
        needs_model,
        prefix_pairs,
        with_baseline,
    )
    from eval.testset import load_testset
    from eval.variants import parse_variants

    settings = get_settings()
    try:
        chosen, _ = with_baseline(parse_variants(variants), baseline)
        loaded = load_testset(testset, "eval")  # the dev/test part only: never what a model trained on
        names = [p.strip().lower() for p in (precisions or "").split(",") if p.strip()]
        if len(set(names)) != len(names):
            raise InvalidValueError(f"--precisions names a precision twice: {precisions}")
        pairs: list[tuple[str, str]] = []
        if query_prefixes or entry_prefixes:
            from models.encoder import default_prefix

            query_default = settings.model_prefix
            if query_default is None:
                query_default = default_prefix(model or settings.model)
            pairs = prefix_pairs(
                query_prefixes or [], entry_prefixes or [], query_default, settings.entry_prefix
            )
            if len(pairs) > 1 and len(names) > 1:
                raise InvalidValueError("compare precisions or prefix pairs, not both at once")
        weights = _function_weights(function_weights)
        if weights and names:
            raise InvalidValueError(
                "give --precisions or --function-weights, not both: each is its own report"
            )
        if weights and len(pairs) > 1:
            raise InvalidValueError(
                "give prefix pairs or --function-weights, not both: each is its own report"
            )
        views = _entry_views(entries, settings)
        if len(views) > 1 and (weights or names or len(pairs) > 1):
            raise InvalidValueError(
                "compare entry views (--entries) alone: precisions, prefixes and function-word weights "
                "are each their own report"
            )
        [default_view] = list(views.values())[:1]
        if answerability and (len(views) > 1 or weights or names or len(pairs) > 1):
            raise InvalidValueError("--answerability is its own report: give it one configuration")
        encoders = {name: load_encoder(model, precision=name) for name in names}
        encoder = None
        if len(pairs) > 1 and len(encoders) == 1:  # prefix pairs in the one precision named
            [encoder] = encoders.values()
            encoders = {}
        elif not encoders and (
            pairs
            or needs_model(chosen, loaded)
            or (any(v.rows.answers for v in views.values()) and _has_answers(loaded))
        ):  # answers are chunked at the model's token limit, even for lexical search
            encoder = load_encoder(model)
        if len(pairs) == 1:  # one pair: a plain (or precision) report under it
            [(query_prefix, entry_prefix)] = pairs
            encoders = {
                k: e.with_prefixes(prefix=query_prefix, entry_prefix=entry_prefix)
                for k, e in encoders.items()
            }
            if encoder is not None:
                encoder = encoder.with_prefixes(prefix=query_prefix, entry_prefix=entry_prefix)
        if answerability:
            _answerability_report(loaded, chosen, encoder, default_view, cache, out)
            return
        with (
            VectorCache(cache or settings.eval_cache or default_cache_dir()) as vector_cache,
            encoding_progress() as progress,
        ):
            if len(views) > 1:
                report = evaluate_views(
                    loaded,
                    chosen,
                    views,
                    baseline=baseline,
                    encoder=encoder,
                    cache=vector_cache,
                    progress=progress,
                    function_weight=settings.function_word_weight,
                )
            elif len(pairs) > 1:
                assert encoder is not None
                report = evaluate_prefixes(
                    loaded,
                    chosen,
                    encoder,
                    pairs,
                    baseline=baseline,
                    cache=vector_cache,
                    progress=progress,
                    function_weight=settings.function_word_weight,
                    view=default_view,
                )
            elif encoders:
                report = evaluate_precisions(
                    loaded,
                    chosen,
                    encoders,
                    baseline=baseline,
                    cache=vector_cache,
                    progress=progress,
                    function_weight=settings.function_word_weight,
                    view=default_view,
                )
            elif weights:
                report = evaluate_function_weights(
                    loaded,
                    chosen,
                    weights,
                    baseline=baseline,
                    encoder=encoder,
                    cache=vector_cache,
                    progress=progress,
                    view=default_view,
                )
            else:
                report = evaluate(
                    loaded,
                    chosen,
                    baseline=baseline,
                    encoder=encoder,
                    cache=vector_cache,
                    progress=progress,
                    function_weight=settings.function_word_weight,
                    view=default_view,
                )
        paths = write_report(report, out or Path("eval/reports") / loaded.name)
    except (FaqsearchError, OSError) as exc:
        raise fail(str(exc)) from exc
    sys.stdout.write(markdown_table(report))
    typer.echo(f"wrote {', '.join(str(p) for p in paths)}", err=True)


@cli.command()
def train(
    data: Annotated[
        list[Path],
        typer.Option(
            "--data",
            help="Training data, repeatable: pairs JSONL ({query, positive[, negative]}), an FAQ file with "
            "alternates, or a test set folder's train split (testsets/README.md).",
        ),
    ],
    out: Annotated[Path, typer.Option("--out", help="Folder for the trained model (new, or --resume).")],
    model: ModelOption = None,
    epochs: Annotated[float, typer.Option("--epochs", min=0.01, help="Passes over the data.")] = 1.0,
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=2, help="Pairs per batch (in-batch negatives).")
    ] = 32,
    lr: Annotated[
        float, typer.Option("--lr", min=0.0, help="Peak learning rate (10% warm-up, then linear).")
    ] = 2e-5,
    max_minutes: Annotated[
        float | None,
        typer.Option(
            "--max-minutes", min=0.0, help="Stop after the step that crosses this; the model is saved."
        ),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed: the same run gives the same model on CPU.")] = 0,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue from the newest checkpoint in --out.")
    ] = False,
    eval_testset: Annotated[
        list[Path] | None,
        typer.Option(
            "--eval-testset", help="Test set folder scored before and after (its evaluation split)."
        ),
    ] = None,
    max_length: Annotated[int, typer.Option("--max-length", min=8, help="Tokens per training text.")] = 128,
) -> None:
    """Adapt the model to your data; writes a model folder every command loads, with MODEL_CARD.md."""
    from models.encoder import default_prefix, trained_prefixes
    from training.run import run_training
    from training.trainer import TrainConfig

    settings = get_settings()
    base = model or settings.model
    query_prefix = settings.model_prefix if settings.model_prefix is not None else default_prefix(base)
    recorded = trained_prefixes(base) if settings.model_prefix is None else None
    entry_prefix = settings.entry_prefix
    if entry_prefix is None:
        entry_prefix = recorded[1] if recorded else query_prefix
    config = TrainConfig(
        model=base,
        out=out,
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        max_minutes=max_minutes,
        seed=seed,
        resume=resume,
        query_prefix=query_prefix,
        entry_prefix=entry_prefix,
        max_length=max_length,
        bf16=_trains_in_bf16(settings.precision),
        progress=sys.stderr.isatty(),
    )
    try:
        from eval.cache import VectorCache, default_cache_dir

        with VectorCache(settings.eval_cache or default_cache_dir()) as cache:
            card = run_training(
                data,
                config,
                eval_testsets=eval_testset or [],
                pooling=settings.pooling,
                encoder_loader=load_encoder,
                cache=cache,
            )
    except FaqsearchError as exc:
        raise fail(str(exc)) from None
    typer.echo(card)


def _trains_in_bf16(precision: str) -> bool:
    """bf16 where the CPU has it natively and the precision setting allows it (auto or bf16)."""
    import torch

    from models.cpu_features import cpu_features

    return not torch.cuda.is_available() and precision in ("auto", "bf16") and cpu_features().bf16


@cli.command()
def serve(
    index: DirOption = None,
    host: Annotated[str | None, typer.Option("--host", help="Default: FAQSEARCH_HOST (127.0.0.1).")] = None,
    port: Annotated[
        int | None, typer.Option("--port", min=1, max=65535, help="Default: FAQSEARCH_PORT (8000).")
    ] = None,
    model: ModelOption = None,
) -> None:
    """Run the HTTP service (FastAPI + uvicorn) over the index in --data-dir."""
    from app.server import run_server

    settings = get_settings()
    overrides: dict[str, object] = {}
    if index is not None:
        overrides["data_dir"] = index
    if model is not None:
        overrides["model"] = model
    run_server(settings.model_copy(update=overrides), host=host or settings.host, port=port or settings.port)


def main() -> None:
    import logging

    from faqsearch.settings import SettingsError
    from models.threads import configure

    try:
        settings = get_settings()
    except SettingsError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise SystemExit(2) from None
    # Before torch loads: the OpenMP runtimes read the thread count and wait policy once.
    choice = configure(settings.threads)
    logging.getLogger("faqsearch").debug(choice.describe())  # `faqsearch serve` logs it at info
    cli()


if __name__ == "__main__":
    main()
