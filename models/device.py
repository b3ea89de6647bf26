"""Device and dtype choice: the one place that decides where the encoder runs."""

from __future__ import annotations

import re

import torch

DEVICE_CHOICES = ("auto", "cpu", "cuda", "cuda:N")
PRECISION_CHOICES = ("auto", "fp32", "bf16", "fp16")
_DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def resolve_device(spec: str = "auto") -> torch.device:
    """'auto' -> CUDA if present, else CPU; 'cpu'; 'cuda'; 'cuda:N'."""
    spec = spec.strip().lower()
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if spec == "cpu":
        return torch.device("cpu")
    if re.fullmatch(r"cuda(:\d+)?", spec):
        if not torch.cuda.is_available():
            raise ValueError(
                f"device {spec!r} was asked for but CUDA is not available here; "
                "use device 'auto' or 'cpu' (FAQSEARCH_DEVICE)"
            )
        device = torch.device(spec)
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ValueError(
                f"device {spec!r} does not exist: this machine has {torch.cuda.device_count()} CUDA device(s)"
            )
        return device
    raise ValueError(f"unknown device {spec!r}; valid: {', '.join(DEVICE_CHOICES)}")


def resolve_dtype(device: torch.device, precision: str = "auto") -> torch.dtype:
    """'auto' -> bf16 on a GPU that supports it (else fp16), fp32 on CPU; half precision on CPU is refused
    because it is slower there and changes results."""
    precision = precision.strip().lower()
    if precision not in PRECISION_CHOICES:
        raise ValueError(f"unknown precision {precision!r}; valid: {', '.join(PRECISION_CHOICES)}")
    if device.type != "cuda":
        if precision not in ("auto", "fp32"):
            raise ValueError(f"precision {precision!r} needs a GPU; on {device.type} use 'auto' or 'fp32'")
        return torch.float32
    if precision == "auto":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return _DTYPES[precision]
