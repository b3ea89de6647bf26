"""`faqsearch train`: adapt the encoder with sentence-transformers' trainer and losses.

Pairs train with the in-batch negatives ranking loss (MultipleNegativesRankingLoss; a hard negative
where the data has one), scored pairs with CoSENT. Batches keep each group's rows apart
(training/batches.py). The output folder is a plain model folder (config.json, safetensors,
tokenizer) that `Encoder.load` and every command load unchanged, plus `faqsearch.json` with the
prefixes it was trained with (read by `models.encoder.Encoder.load`) and a MODEL_CARD.md.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from models.errors import FaqsearchError
from training.data import TrainData

log = logging.getLogger("faqsearch.train")

CHECKPOINTS = "checkpoints"  # inside --out; the newest one is what --resume continues from
PREFIX_FILE = "faqsearch.json"  # the prefixes the model was trained with (models/encoder.py reads it)


class TrainError(FaqsearchError, ValueError):
    """Training cannot start as asked; the message says what to change."""


@dataclass(frozen=True)
class TrainConfig:
    model: str
    out: Path
    epochs: float = 1.0
    batch_size: int = 32
    lr: float = 2e-5
    max_minutes: float | None = None
    seed: int = 0
    resume: bool = False
    query_prefix: str = ""
    entry_prefix: str = ""
    max_length: int = 128
    bf16: bool = False
    progress: bool = True


@dataclass
class TrainResult:
    steps: int
    epochs_done: float
    seconds: float
    stopped_early: bool  # --max-minutes ran out
    losses: list[float] = field(default_factory=list)  # the training loss at each logging step
    peak_rss_mib: float = 0.0


def check_out_folder(config: TrainConfig) -> None:
    """Refuse before any work: an existing non-empty --out is only continued with --resume."""
    out = config.out
    if out.exists() and not out.is_dir():
        raise TrainError(f"--out {out} is a file; give a folder for the trained model")
    if config.resume:
        if not _last_checkpoint(out):
            raise TrainError(f"--resume: {out} holds no checkpoint to continue from; drop --resume to start")
    elif out.exists() and any(out.iterdir()):
        raise TrainError(f"--out {out} is not empty; give a new folder, or --resume to continue its training")


def _last_checkpoint(out: Path) -> str | None:
    from transformers.trainer_utils import get_last_checkpoint

    folder = out / CHECKPOINTS
    return get_last_checkpoint(str(folder)) if folder.is_dir() else None


def _datasets(data: TrainData, config: TrainConfig) -> dict[str, Any]:
    """sentence-transformers datasets, prefixes put before their texts as the service does."""
    from datasets import Dataset

    from training.batches import GROUP_COLUMN

    q, e = config.query_prefix, config.entry_prefix
    group_ids: dict[str, int] = {}
    sets: dict[str, Any] = {}
    for name, rows in (
        ("pairs", [p for p in data.pairs if p.negative is None]),
        ("triplets", [p for p in data.pairs if p.negative is not None]),
    ):
        if not rows:
            continue
        columns: dict[str, list[Any]] = {
            "anchor": [q + p.query for p in rows],
            "positive": [e + p.positive for p in rows],
        }
        if name == "triplets":
            columns["negative"] = [e + str(p.negative) for p in rows]
        columns[GROUP_COLUMN] = [group_ids.setdefault(p.group, len(group_ids)) for p in rows]
        sets[name] = Dataset.from_dict(columns)
    if data.scored:
        # both sentences of a scored pair are of one kind: the query prefix, as eval encodes STS
        sets["scored"] = Dataset.from_dict(
            {
                "sentence1": [q + s.a for s in data.scored],
                "sentence2": [q + s.b for s in data.scored],
                "score": [float(s.score) for s in data.scored],
            }
        )
    return sets


def train(data: TrainData, config: TrainConfig) -> TrainResult:
    """Train, write the model folder to `config.out` and return what happened."""
    import resource

    import torch
    from huggingface_hub.utils import disable_progress_bars
    from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer
    from sentence_transformers import SentenceTransformerTrainingArguments as Arguments
    from sentence_transformers.sentence_transformer.losses import CoSENTLoss, MultipleNegativesRankingLoss
    from sentence_transformers.sentence_transformer.modules import Pooling, Transformer
    from transformers import PrinterCallback, TrainerCallback

    from training.batches import GroupBatchSampler

    check_out_folder(config)
    disable_progress_bars()  # per-shard "Writing model shards" bars are noise beside the training bar
    torch.manual_seed(config.seed)
    transformer = Transformer(config.model, max_seq_length=config.max_length)
    pooling = Pooling(transformer.get_embedding_dimension(), "mean")
    model = SentenceTransformer(
        modules=[transformer, pooling], device="cuda" if torch.cuda.is_available() else "cpu"
    )
    sets = _datasets(data, config)
    losses: dict[str, torch.nn.Module] = {
        name: CoSENTLoss(model) if name == "scored" else MultipleNegativesRankingLoss(model) for name in sets
    }
    started = time.monotonic()
    result = TrainResult(steps=0, epochs_done=0.0, seconds=0.0, stopped_early=False)

    class _Clock(TrainerCallback):
        """--max-minutes: stop after the step that crosses it; the model is still saved."""

        def on_step_end(self, args, state, control, **kwargs):
            if config.max_minutes is not None and time.monotonic() - started > config.max_minutes * 60:
                result.stopped_early = True
                control.should_training_stop = True
                control.should_save = True  # a checkpoint at the stop: --resume continues from here
            return control

        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs and "loss" in logs:
                result.losses.append(float(logs["loss"]))

    out = config.out
    out.mkdir(parents=True, exist_ok=True)
    arguments = Arguments(
        output_dir=str(out / CHECKPOINTS),
        num_train_epochs=config.epochs,
        per_device_train_batch_size=config.batch_size,
        learning_rate=config.lr,
        warmup_steps=0.1,  # a float: the share of all steps (transformers v5)
        seed=config.seed,
        data_seed=config.seed,
        bf16=config.bf16,
        use_cpu=not torch.cuda.is_available(),
        save_strategy="epoch",
        save_total_limit=1,
        logging_steps=max(1, min(50, _steps_hint(sets, config) // 20 or 1)),
        logging_strategy="steps",
        report_to=[],
        disable_tqdm=not config.progress,
        dataloader_num_workers=0,
        batch_sampler=GroupBatchSampler,
        multi_dataset_batch_sampler="proportional",
    )
    trainer = SentenceTransformerTrainer(
        model=model,
        args=arguments,
        train_dataset=sets if len(sets) > 1 else next(iter(sets.values())),
        loss=losses if len(sets) > 1 else next(iter(losses.values())),
        callbacks=[_Clock()],
    )
    if not config.progress:  # without a terminal: no bar and no per-step log lines on stdout
        trainer.remove_callback(PrinterCallback)
    output = trainer.train(resume_from_checkpoint=_last_checkpoint(out) if config.resume else None)
    model.save(str(out))
    _write_prefixes(out, config)
    result.steps = int(output.global_step)
    result.epochs_done = float(trainer.state.epoch or 0.0)
    result.seconds = time.monotonic() - started
    result.peak_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def _steps_hint(sets: dict[str, Any], config: TrainConfig) -> int:
    return int(sum(len(s) for s in sets.values()) / config.batch_size * config.epochs)


def _write_prefixes(out: Path, config: TrainConfig) -> None:
    text = json.dumps(
        {
            "query_prefix": config.query_prefix,
            "entry_prefix": config.entry_prefix,
            "base_model": config.model,
        },
        ensure_ascii=False,
        indent=2,
    )
    (out / PREFIX_FILE).write_text(text + "\n", encoding="utf-8")


def remove_partial(out: Path) -> None:
    """Remove an --out this run created and left without a model (a crash before the save)."""
    if out.is_dir() and not (out / "config.json").exists():
        shutil.rmtree(out, ignore_errors=True)
