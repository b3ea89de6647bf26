"""Device and dtype choice: the one place that decides where the encoder runs."""

from __future__ import annotations

import torch

from models.cpu_features import CpuFeatures, cpu_features
from models.errors import InvalidValueError
from models.options import PRECISION_CHOICES, check_device

_DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
# CPU precisions that meet the quality rule on every bundled set (eval/README.md, "Precision"),
# fastest first (docs/benchmarks.md); `auto` takes the first this CPU runs natively. fp32 last: always.
CPU_AUTO = ("bf16", "fp32")


def resolve_device(spec: str = "auto") -> torch.device:
    """'auto' -> CUDA if present, else CPU; 'cpu'; 'cuda'; 'cuda:N'."""
    spec = check_device(spec)
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if spec == "cpu":
        return torch.device("cpu")
    if not torch.cuda.is_available():  # 'cuda' or 'cuda:N' (check_device)
        raise InvalidValueError(
            f"device {spec!r} was asked for but CUDA is not available here; "
            "use device 'auto' or 'cpu' (FAQSEARCH_DEVICE)"
        )
    device = torch.device(spec)
    if device.index is not None and device.index >= torch.cuda.device_count():
        raise InvalidValueError(
            f"device {spec!r} does not exist: this machine has {torch.cuda.device_count()} CUDA device(s)"
        )
    return device


def resolve_precision(
    device: torch.device, precision: str = "auto", features: CpuFeatures | None = None
) -> str:
    """The precision the encoder runs in: 'fp32', 'bf16', 'int8' (CPU) or 'fp16' (GPU).

    'auto' -> bf16 on a GPU that supports it (else fp16); on CPU the first of `CPU_AUTO` that the
    CPU runs natively (`features`, default: this CPU's flags), so an emulated precision is never
    chosen. Asked for explicitly, bf16 or int8 run on any CPU (emulated ones are slow, not wrong)."""
    precision = precision.strip().lower()
    if precision not in PRECISION_CHOICES:
        raise InvalidValueError(
            f"unknown precision {precision!r} (FAQSEARCH_PRECISION); valid: {', '.join(PRECISION_CHOICES)}"
        )
    if device.type == "cuda":
        if precision == "int8":
            raise InvalidValueError(
                "precision 'int8' runs on CPU only; on a GPU use 'auto', 'bf16', 'fp16' or 'fp32'"
            )
        if precision == "auto":
            return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        return precision
    if precision == "fp16":
        raise InvalidValueError(
            f"precision 'fp16' needs a GPU; on {device.type} use 'auto', 'fp32', 'bf16' or 'int8'"
        )
    if precision != "auto":
        return precision
    if device.type != "cpu":
        return "fp32"
    features = features or cpu_features()
    return next(p for p in CPU_AUTO if features.native(p))


def load_dtype(device: torch.device, precision: str) -> torch.dtype:
    """The dtype the weights are loaded in: the precision itself on GPU; fp32 on CPU, where bf16 and
    int8 convert the matrix products only after loading (models/cpu_precision.py)."""
    if device.type == "cuda":
        return _DTYPES[precision]
    return torch.float32


def resolve_dtype(device: torch.device, precision: str = "auto") -> torch.dtype:
    """The loading dtype for a precision setting (see `resolve_precision` and `load_dtype`)."""
    return load_dtype(device, resolve_precision(device, precision))
