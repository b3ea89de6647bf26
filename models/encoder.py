"""The sentence encoder: any BERT-family model loaded through `transformers`, padding-free vectors.

What makes a sentence's vector independent of its batch:
- sentences are sorted by token length and batched, each batch padded only to its own longest;
- padding is masked in attention (attention_mask) and in every pooling (`models.pooling`);
- padding sits on the right, so real tokens keep their position ids.
Results always come back in input order.
"""

from __future__ import annotations

import copy
import functools
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from models import threads
from models.bm25 import Bm25Stats, token_weights
from models.cpu_layout import lay_out_linear_weights_in_out, wants_in_out_layout
from models.device import load_dtype, resolve_device, resolve_precision
from models.errors import FaqsearchError, InvalidValueError, PoolingError
from models.options import ROLES, Role
from models.packed import PackedBert, supports_packing
from models.pooling import pool
from models.pooling_spec import PoolingSpec, parse_pooling
from models.sentence_encoder import Encoded  # torch-free, re-exported: `from models.encoder import Encoded`
from models.text import normalize_sentences

logger = logging.getLogger(__name__)

E5_PREFIX = "query: "


class ModelLoadError(FaqsearchError, ValueError):
    """The model could not be loaded; the message says what to change."""


# Written by `faqsearch train` into the model folder: the prefixes the model was trained with. A
# trained folder's name no longer says `e5`, so its own record decides.
TRAINED_PREFIXES_FILE = "faqsearch.json"


def trained_prefixes(model_name: str) -> tuple[str, str] | None:
    """(query prefix, entry prefix) recorded in a model folder by `faqsearch train`, else None."""
    path = Path(model_name).expanduser() / TRAINED_PREFIXES_FILE
    if not path.is_file():
        return None
    import json

    try:
        recorded = json.loads(path.read_text(encoding="utf-8"))
        return str(recorded["query_prefix"]), str(recorded["entry_prefix"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelLoadError(
            f"{path}: unreadable ({type(exc).__name__}: {exc}); it must hold query_prefix and entry_prefix "
            "as `faqsearch train` writes them. Restore it, or delete it and set FAQSEARCH_MODEL_PREFIX."
        ) from None


def default_prefix(model_name: str) -> str:
    """The prefix a trained folder records; else e5 models expect `query: ` before symmetric-matching
    input and other models get no prefix."""
    recorded = trained_prefixes(model_name)
    if recorded is not None:
        return recorded[0]
    return E5_PREFIX if "e5" in Path(model_name.rstrip("/")).name.lower() else ""


def _default_entry_prefix(name_or_path: str, prefix: str | None, entry_prefix: str | None) -> str | None:
    """A trained folder's recorded entry prefix, unless the caller chose either prefix."""
    recorded = trained_prefixes(name_or_path)
    if entry_prefix is not None or prefix is not None or recorded is None:
        return entry_prefix
    return recorded[1]


def model_fingerprint(name_or_path: str) -> str:
    """sha256 over the model's weight files (name and bytes), the same on every device and dtype.

    A hub id is looked up in the local cache only; index manifests record this to catch an index
    being served with a different model than the one that built it.
    """
    import hashlib

    folder = Path(name_or_path).expanduser()
    if not folder.is_dir():
        from huggingface_hub import snapshot_download

        folder = Path(snapshot_download(name_or_path, local_files_only=True))
    weights = sorted(p for p in folder.iterdir() if p.suffix in (".safetensors", ".bin") and p.is_file())
    if not weights:
        raise ModelLoadError(f"no weight files (*.safetensors, *.bin) in {folder}")
    digest = hashlib.sha256()
    for path in weights:
        digest.update(path.name.encode() + b"\0")
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 22):
                digest.update(chunk)
    return digest.hexdigest()


@dataclass
class Tokenized:
    """Normalised sentences and their tokens, before any padding."""

    texts: list[str]  # normalised, without the model prefix
    input_ids: list[list[int]]  # with special tokens, truncated to max_length
    offsets: list[np.ndarray]  # [T_i, 2] character spans in `texts[i]`; special/prefix tokens end <= 0
    truncated: list[bool]


@dataclass
class HiddenBatch:
    """One padded forward pass: what the evaluation module pools its variants from."""

    indices: list[int]  # input positions of the batch rows
    hidden_states: tuple[torch.Tensor, ...]  # L x [B, T, H] float32 (L = 1: last layer only)
    mask: torch.Tensor  # [B, T] int64, 1 = real token
    weights: torch.Tensor | None  # [B, T] float32 BM25 token weights, when asked for


class Encoder:
    """A loaded encoder on its device. Build with `Encoder.load`; `encode` is thread-compatible
    (torch releases the GIL) but each call runs its own forward passes."""

    def __init__(
        self,
        model: torch.nn.Module,
        tokenizer,
        *,
        name: str,
        device: torch.device,
        dtype: torch.dtype,
        prefix: str,
        max_length: int,
        batch_size: int,
        packed: bool = True,
        precision: str = "fp32",
        entry_prefix: str | None = None,
    ) -> None:
        self.model = model
        self.precision = precision  # what the products run in: fp32, bf16, int8 (CPU) or fp16 (GPU)
        self.tokenizer = tokenizer
        self.name = name
        self.device = device
        self.dtype = dtype
        self.prefix = prefix  # before queries
        self.entry_prefix = prefix if entry_prefix is None else entry_prefix  # before entries
        self.max_length = max_length
        self.batch_size = batch_size
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        # Padding-free forward (models/packed.py) where the architecture allows; None: the model's own.
        self.packed_model = PackedBert(model, self.pad_id) if packed and supports_packing(model) else None

    @classmethod
    def load(
        cls,
        name_or_path: str,
        *,
        device: str = "auto",
        precision: str = "auto",
        prefix: str | None = None,
        entry_prefix: str | None = None,
        max_length: int | None = None,
        batch_size: int = 64,
        packed: bool = True,
    ) -> Encoder:
        """Load a model folder or hub id. The model is moved to its device here, once.
        prefix: text before queries (None: `default_prefix`); entry_prefix: text before entries
        (None: the same as before queries)."""
        from transformers import AutoModel, AutoTokenizer  # heavy: only when a model is loaded
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # a per-weight loading bar is noise in a CLI and a server log

        torch_device = resolve_device(device)
        chosen = resolve_precision(torch_device, precision)
        dtype = load_dtype(torch_device, chosen)
        looks_local = name_or_path.startswith((".", "/", "~")) or Path(name_or_path).exists()
        if looks_local and not (Path(name_or_path).expanduser() / "config.json").is_file():
            raise ModelLoadError(
                f"model folder {name_or_path!r} does not exist or has no config.json. Set FAQSEARCH_MODEL "
                "(or --model) to a folder holding config.json, the weights and tokenizer.json, or to a hub id."
            )
        try:
            tokenizer = AutoTokenizer.from_pretrained(name_or_path)
            try:  # BERT/RoBERTa carry an unused pooler head; skip it rather than init it randomly
                model = AutoModel.from_pretrained(name_or_path, dtype=dtype, add_pooling_layer=False)
            except TypeError:
                model = AutoModel.from_pretrained(name_or_path, dtype=dtype)
        except Exception as exc:  # a cut-short weights file, a config that does not fit them, ...
            raise ModelLoadError(
                f"could not load model {name_or_path!r}: {type(exc).__name__}: {exc}. Set FAQSEARCH_MODEL "
                "(or --model) to a complete model folder (config.json, weights, tokenizer.json), or to a "
                "hub id that is in the local cache (this machine may be offline)."
            ) from exc
        if not getattr(tokenizer, "is_fast", False):
            raise ModelLoadError(
                f"model {name_or_path!r} has no fast tokenizer (tokenizer.json); BM25 pooling needs its "
                "character offsets. Use a model folder that includes tokenizer.json."
            )
        model_max = int(getattr(model.config, "max_position_embeddings", 512))
        tokenizer_max = int(getattr(tokenizer, "model_max_length", model_max))
        limit = min(model_max, tokenizer_max) if tokenizer_max > 0 else model_max
        if max_length is not None and max_length > limit:
            raise InvalidValueError(f"max_length {max_length} exceeds the model's maximum of {limit} tokens")
        model.to(torch_device)
        model.eval()
        if torch_device.type == "cpu" and chosen != "fp32":
            from models.cpu_features import cpu_features
            from models.cpu_precision import convert

            # bf16 or int8 products, the rest fp32 (cpu_precision.py)
            convert(model, chosen, int8_full_range=cpu_features().int8)
        elif wants_in_out_layout(torch_device):
            lay_out_linear_weights_in_out(model)  # same vectors, faster small products (cpu_layout.py)
        return cls(
            model,
            tokenizer,
            name=name_or_path,
            device=torch_device,
            dtype=dtype,
            prefix=default_prefix(name_or_path) if prefix is None else prefix,
            entry_prefix=_default_entry_prefix(name_or_path, prefix, entry_prefix),
            max_length=max_length or limit,
            batch_size=batch_size,
            packed=packed,
            precision=chosen,
        )

    def describe(self) -> str:
        """The startup line: 'encoder: cpu, bf16 (AMX)', 'encoder: cpu, fp32 (AVX512; no native bf16)'."""
        if self.device.type != "cpu":
            return f"encoder: {self.device}, {self.precision}"
        from models.cpu_features import cpu_features

        features = cpu_features()
        unit = features.unit(self.precision)
        if self.precision == "fp32" and not features.bf16:
            unit += "; no native bf16"
        elif not features.native(self.precision):
            unit = f"{self.precision} emulated: slower than fp32 on this CPU"
        return f"encoder: cpu, {self.precision} ({unit})"

    def prefix_of(self, role: Role) -> str:
        if role not in ROLES:
            raise InvalidValueError(f"unknown role {role!r}; valid: {', '.join(ROLES)}")
        return self.prefix if role == "query" else self.entry_prefix

    def with_prefixes(self, *, prefix: str | None = None, entry_prefix: str | None = None) -> Encoder:
        """The same loaded model with other prefixes (None: keep this one's): the evaluation compares
        prefixes without loading the weights again."""
        other = copy.copy(self)
        other.prefix = self.prefix if prefix is None else prefix
        other.entry_prefix = self.entry_prefix if entry_prefix is None else entry_prefix
        return other

    @functools.cached_property
    def fingerprint(self) -> str:
        return model_fingerprint(self.name)

    @property
    def dim(self) -> int:
        config: Any = self.model.config  # a transformers PretrainedConfig
        return int(config.hidden_size)

    @property
    def num_layers(self) -> int:
        config: Any = self.model.config
        return int(config.num_hidden_layers)

    # -- tokenisation ------------------------------------------------------------------------------

    def tokenize(self, texts: Sequence[str], *, role: Role = "query") -> Tokenized:
        """Normalise, put the role's prefix before and tokenise (no padding). Raises ValueError for
        empty sentences."""
        prefix = self.prefix_of(role)
        normalised = normalize_sentences(texts)
        if not normalised:
            return Tokenized([], [], [], [])
        # Overflow rows tell us which sentences were cut; only the first row of each is kept.
        encoding = self.tokenizer(
            [prefix + t for t in normalised],
            truncation=True,
            max_length=self.max_length,
            return_overflowing_tokens=True,
            return_offsets_mapping=True,
            return_attention_mask=False,
            return_token_type_ids=False,
        )
        sample_of_row = encoding["overflow_to_sample_mapping"]
        input_ids: list[list[int]] = [[] for _ in normalised]
        offsets: list[np.ndarray] = [np.zeros((0, 2), dtype=np.int64) for _ in normalised]
        rows = [0] * len(normalised)
        for row, sample in enumerate(sample_of_row):
            rows[sample] += 1
            if rows[sample] == 1:
                input_ids[sample] = list(encoding["input_ids"][row])
                spans = np.array(encoding["offset_mapping"][row], dtype=np.int64).reshape(-1, 2)
                # Shift spans from the prefixed string to the sentence itself; special tokens (0, 0)
                # and prefix tokens then end at or before 0 and overlap nothing.
                spans = np.where(spans[:, 1:2] > spans[:, 0:1], spans - len(prefix), 0)
                offsets[sample] = spans
        return Tokenized(normalised, input_ids, offsets, [n > 1 for n in rows])

    def bm25_token_weights(self, tokenized: Tokenized, bm25: Bm25Stats) -> list[np.ndarray]:
        """[T_i] float64 BM25 weight of every token of every sentence (see `models.bm25.token_weights`),
        with the morphemes of the statistics' own analyser: a synonym weighs as its canonical term."""
        # Analyse only the part of each sentence that survived truncation.
        covered = [
            text[: int(spans[:, 1].max(initial=0))]
            for text, spans in zip(tokenized.texts, tokenized.offsets, strict=True)
        ]
        weights = []
        for spans, morphemes in zip(tokenized.offsets, bm25.analyzer.analyze(covered), strict=True):
            weights.append(token_weights(spans, morphemes, bm25.morpheme_weights(morphemes)))
        return weights

    # -- forward passes ----------------------------------------------------------------------------

    def _length_sorted_batches(self, lengths: Sequence[int]) -> list[list[int]]:
        order = sorted(range(len(lengths)), key=lambda i: -lengths[i])  # stable: ties keep input order
        return [order[i : i + self.batch_size] for i in range(0, len(order), self.batch_size)]

    def iter_hidden(
        self,
        tokenized: Tokenized,
        *,
        all_layers: bool = False,
        weights: list[np.ndarray] | None = None,
        packed: bool | None = None,
        pad_to: int = 0,
    ) -> Iterator[HiddenBatch]:
        """Run the model over length-sorted batches, each padded only to its own longest sentence.

        packed (default: whenever the model allows it) runs `models.packed.PackedBert`, which skips
        padding inside the forward pass of batches with much of it; its hidden states at padding
        positions are unspecified (zero where packed). packed=False runs the model's own padded
        forward, for a caller that wants what the model computes at padding positions.
        pad_to > 0 pads every batch to at least that many tokens, with the padded forward.
        """
        packed_model = self.packed_model if packed is not False and not pad_to else None
        for indices in self._length_sorted_batches([len(ids) for ids in tokenized.input_ids]):
            threads.before_forward()  # the CPUs idle right now, in this thread (models/threads.py)
            longest = max(pad_to, *(len(tokenized.input_ids[i]) for i in indices))
            if packed_model is not None:
                batch_weights = None
                if weights is not None:
                    batch_weights = torch.zeros((len(indices), longest), dtype=torch.float32)  # [B, T]
                    for row, i in enumerate(indices):
                        batch_weights[row, : len(weights[i])] = torch.from_numpy(weights[i])
                states, mask = packed_model(
                    [tokenized.input_ids[i] for i in indices], self.device, all_layers=all_layers
                )
                yield HiddenBatch(
                    indices=indices,
                    hidden_states=tuple(h.float() for h in states),  # L x [B, T, H]
                    mask=mask,
                    weights=None if batch_weights is None else batch_weights.to(self.device),
                )
                continue
            ids = torch.full((len(indices), longest), self.pad_id, dtype=torch.long)  # [B, T]
            mask = torch.zeros((len(indices), longest), dtype=torch.long)  # [B, T]
            batch_weights = torch.zeros((len(indices), longest), dtype=torch.float32) if weights else None
            for row, i in enumerate(indices):
                n = len(tokenized.input_ids[i])
                ids[row, :n] = torch.tensor(tokenized.input_ids[i])
                mask[row, :n] = 1
                if batch_weights is not None and weights is not None:
                    batch_weights[row, :n] = torch.from_numpy(weights[i])
            with torch.inference_mode():
                out = self.model(
                    input_ids=ids.to(self.device),
                    attention_mask=mask.to(self.device),
                    output_hidden_states=all_layers,
                )
                states = out.hidden_states if all_layers else (out.last_hidden_state,)
                # Pool in float32 on CPU-side numbers whatever the model's dtype.
                hidden = tuple(h.float() for h in states)  # L x [B, T, H]
            yield HiddenBatch(
                indices=indices,
                hidden_states=hidden,
                mask=mask.to(self.device),
                weights=None if batch_weights is None else batch_weights.to(self.device),
            )

    def encode_variants(
        self,
        texts: Sequence[str],
        poolings: Sequence[str | PoolingSpec],
        *,
        bm25: Bm25Stats | None = None,
        role: Role = "query",
    ) -> dict[str, Encoded]:
        """Encode once and pool every variant from the same forward passes -> {variant name: Encoded}.
        role: which prefix goes before the texts (`prefix_of`)."""
        specs = [p if isinstance(p, PoolingSpec) else parse_pooling(p) for p in poolings]
        if not specs:
            raise PoolingError("no pooling variant given")
        for spec in specs:
            if spec.needs_bm25 and bm25 is None:
                raise PoolingError(
                    f"pooling {spec.name!r} needs BM25 statistics fitted on the FAQ corpus; "
                    "pass a corpus (--corpus FILE) or use an index built with it"
                )
            if -min(spec.layers) > self.num_layers + 1:
                raise PoolingError(
                    f"pooling {spec.name!r} reaches layer {min(spec.layers)}, but the model has "
                    f"{self.num_layers} layers"
                )
        tokenized = self.tokenize(texts, role=role)
        n = len(tokenized.texts)
        weights = (
            self.bm25_token_weights(tokenized, bm25)
            if bm25 is not None and any(s.needs_bm25 for s in specs)
            else None
        )
        vectors = {s.name: np.zeros((n, self.dim), dtype=np.float32) for s in specs}
        all_layers = any(s.needs_all_layers for s in specs)
        pad_to = max(spec.pad_to for spec in specs)  # > 0 only for poolings that include padding
        for batch in self.iter_hidden(tokenized, all_layers=all_layers, weights=weights, pad_to=pad_to):
            for spec in specs:
                pooled = pool(spec, batch.hidden_states, batch.mask, batch.weights)  # [B, H]
                pooled = torch.nn.functional.normalize(pooled, p=2, dim=-1)
                vectors[spec.name][batch.indices] = pooled.cpu().numpy()
        truncated = np.array(tokenized.truncated, dtype=bool)
        return {name: Encoded(v, truncated) for name, v in vectors.items()}

    def encode(
        self,
        texts: Sequence[str],
        pooling: str | PoolingSpec = "mean",
        *,
        bm25: Bm25Stats | None = None,
        role: Role = "query",
    ) -> Encoded:
        """Encode sentences -> L2-normalised float32 vectors [N, H] in input order; role "entry"
        puts the entry prefix before them instead of the query prefix."""
        spec = pooling if isinstance(pooling, PoolingSpec) else parse_pooling(pooling)
        return self.encode_variants(texts, [spec], bm25=bm25, role=role)[spec.name]
