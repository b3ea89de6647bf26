"""Linear weights kept [in, out] in memory for CPU inference: the same numbers, a faster order.

`nn.Linear` stores its weight as [out, in] and computes x @ weight.T, so MKL's sgemm reads its
second operand transposed. For products with few rows, as in the forward pass of a lone query
(10 to 30 tokens), sgemm is faster when that operand is row-major [in, out]: on this project's
Xeon, a [19 x 384] x [384 x 1536] product takes 205 us instead of 244 us with 2 threads (284 vs
367 with 1; bench/linear_layout.py), and one short query encodes about 15% faster
(docs/benchmarks.md section 1). With hundreds of rows or more, as in a batch of 64 sentences,
both orders run at the same speed.

Each weight keeps its [out, in] shape and values; it becomes a view with strides (1, out) of an
[in, out] buffer, so every module that uses it, the model's own forward included, computes the
same products. The vectors equal those of the stock layout (tests/models/test_cpu_layout.py).
"""

from __future__ import annotations

import torch


def wants_in_out_layout(device: torch.device) -> bool:
    """Measured with MKL on CPU only; other BLAS libraries and GPUs keep the stock layout."""
    return device.type == "cpu" and torch.backends.mkl.is_available()


@torch.no_grad()
def lay_out_linear_weights_in_out(model: torch.nn.Module) -> int:
    """Re-lay every `nn.Linear` weight of `model` as [in, out] in memory, in place -> how many.

    Weights shared with another module (tied embeddings) are left alone: the other module may
    want rows contiguous."""
    owners: dict[int, int] = {}
    for module in model.modules():
        for parameter in module.parameters(recurse=False):
            owners[id(parameter)] = owners.get(id(parameter), 0) + 1
    changed = 0
    for module in model.modules():
        if not isinstance(module, torch.nn.Linear) or owners[id(module.weight)] > 1:
            continue
        weight = module.weight  # [out, in]
        if weight.t().is_contiguous():
            continue  # already [in, out] in memory
        module.weight.data = weight.t().contiguous().t()  # [out, in] view of an [in, out] buffer
        changed += 1
    return changed
