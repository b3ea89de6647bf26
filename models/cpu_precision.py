"""bf16 and int8 inference on CPU: the units the CPU has beside fp32 (models/cpu_features.py).

The Linear layers are 77-82% of a forward pass on CPU and already run at the core's fp32 peak
(docs/benchmarks.md, section 1); the CPU's bf16 (AMX / AVX512-BF16) and int8 (VNNI / AMX) units
run them several times faster.

- bf16: each `nn.Linear` becomes a `Bf16Linear`: its product runs in bf16 (fp32 accumulation)
  on a weight that oneDNN packs once, at load, into the blocked layout its bf16 kernels read.
  Unpacked, oneDNN re-lays the weight on every call, which for a 20-token query costs as much as
  the product ([20 x 384] x [384 x 1536], 2 threads: fp32 312 us, bf16 171 us, bf16 packed 118 us).
  Everything else (embeddings, LayerNorm, softmax, the residual stream, pooling) stays fp32. The
  whole model in bf16 was 20% faster on batches but failed the quality rule on KorSTS dev
  (Spearman -0.0003, p = 0.031); fp32 outside the products passes it (-0.0001, p = 0.21).
- int8: PyTorch's dynamic quantisation of the Linear layers (int8 weights per output channel,
  activations quantised per batch; the x86 backend's VNNI kernels). Lossy: cosine to the fp32
  vector 0.980 at worst on 300 welfare queries (per-tensor weights: 0.965), so it does not meet
  the quality rule and `auto` never picks it (eval/README.md, "Precision").
"""

from __future__ import annotations

import warnings

import torch
import torch.nn.functional as F
from torch import nn

# What each precision computes, for caches of vectors (faqsearch eval): change the name when the
# numbers change, so vectors of an older implementation are never read as this one's.
IMPLEMENTATION = {"bf16": "bf16-products-packed-1", "int8": "dynamic-per-channel-2"}


def _pack_bf16(weight: torch.Tensor) -> torch.Tensor | None:
    """oneDNN's packed copy of a bf16 [out, in] weight, or None where this torch build lacks the
    op (then the plain bf16 product runs: same numbers, slower)."""
    try:
        return torch.ops.mkldnn._reorder_linear_weight(weight, None)
    except (AttributeError, RuntimeError):
        return None


class Bf16Linear(nn.Module):
    """y = x W^T + b in bf16, with the weight packed once for oneDNN; same shapes as the Linear."""

    def __init__(self, linear: nn.Linear) -> None:
        super().__init__()
        self.in_features, self.out_features = linear.in_features, linear.out_features
        weight = linear.weight.detach().to(torch.bfloat16).contiguous()  # [out, in]
        self.bias = linear.bias.detach().to(torch.bfloat16) if linear.bias is not None else None
        self.packed = _pack_bf16(weight) if torch.backends.mkldnn.is_available() else None
        self.weight = weight if self.packed is None else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rows = x.reshape(-1, self.in_features).to(torch.bfloat16)  # [N, in]
        if self.packed is None:
            assert self.weight is not None
            out = F.linear(rows, self.weight, self.bias)
        else:
            out = torch.ops.mkldnn._linear_pointwise(rows, self.packed, self.bias, "none", [], "")
        return out.view(*x.shape[:-1], self.out_features).to(x.dtype)  # [.., out], fp32 in, fp32 out


def _replace_linears(model: nn.Module, make) -> int:
    changed = 0
    for module in list(model.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, nn.Linear):
                setattr(module, name, make(child))
                changed += 1
    return changed


@torch.no_grad()
def to_bf16(model: nn.Module) -> int:
    """Every Linear of `model` -> a packed Bf16Linear, in place -> how many."""
    return _replace_linears(model, Bf16Linear)


def _full_range_linear_class() -> type[nn.Module]:
    from torch.ao.nn.quantized.dynamic import Linear as DynamicLinear

    class FullRangeInt8Linear(DynamicLinear):
        """torch's dynamic int8 Linear with 8-bit activations instead of its 7-bit default
        (`reduce_range=True` guards int16 saturation of pre-VNNI AVX2 products: there 8 bits
        make a random Linear 5x worse). With VNNI or AMX the products add up in int32, so the 8th
        bit is free: cosine to fp32 0.979 -> 0.990 (min over 200 welfare sentences, me5-small;
        measured with 8 bits forced on an AVX2 CPU, where saturation can only add error)."""

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = torch.ops.quantized.linear_dynamic(x, self._packed_params._packed_params, reduce_range=False)
            return y.to(x.dtype)

    return FullRangeInt8Linear


@torch.no_grad()
def to_int8_products(model: nn.Module, full_range: bool = True) -> int:
    """Every Linear of `model` -> a dynamically quantised int8 Linear, in place -> how many.
    `full_range`: 8-bit activations, only where the CPU has VNNI or AMX (see FullRangeInt8Linear)."""
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    if "x86" in torch.backends.quantized.supported_engines:
        torch.backends.quantized.engine = "x86"
    with warnings.catch_warnings():  # torch.ao.quantization announces its move to torchao
        warnings.simplefilter("ignore")
        converted = quantize_dynamic(
            model, {nn.Linear: per_channel_dynamic_qconfig}, dtype=torch.qint8, inplace=True
        )
    quantised = [
        m for m in converted.modules() if type(m).__name__ == "Linear" and hasattr(m, "_packed_params")
    ]
    if full_range:
        full = _full_range_linear_class()
        for module in quantised:
            module.__class__ = full  # same packed weights and state; only forward differs
    return len(quantised)


def convert(model: nn.Module, precision: str, int8_full_range: bool = True) -> None:
    """Put a loaded fp32 CPU model's products in `precision` ('fp32' leaves it as it is)."""
    if precision == "bf16":
        to_bf16(model)
    elif precision == "int8":
        to_int8_products(model, full_range=int8_full_range)
    elif precision != "fp32":
        raise ValueError(f"precision {precision!r} is not a CPU precision; valid: fp32, bf16, int8")
