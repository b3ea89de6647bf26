"""What the CPU runs natively: the vector units that decide which precisions are fast here.

torch-free: read from the kernel's CPU flags (/proc/cpuinfo), injectable for tests. bf16 is native
with AVX512-BF16 (dot products of bf16 pairs) or AMX-BF16 (tile matrix products); int8 with
AVX512-VNNI / AVX-VNNI or AMX-INT8. A CPU without them only emulates bf16 (slower than fp32), so
such a precision is never chosen by `auto`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path


@dataclass(frozen=True)
class CpuFeatures:
    flags: frozenset[str]

    @property
    def amx_bf16(self) -> bool:
        return "amx_bf16" in self.flags

    @property
    def bf16(self) -> bool:
        return self.amx_bf16 or "avx512_bf16" in self.flags

    @property
    def amx_int8(self) -> bool:
        return "amx_int8" in self.flags

    @property
    def int8(self) -> bool:
        return self.amx_int8 or bool({"avx512_vnni", "avx_vnni"} & self.flags)

    def native(self, precision: str) -> bool:
        return {"fp32": True, "bf16": self.bf16, "int8": self.int8}.get(precision, False)

    def unit(self, precision: str) -> str:
        """The unit that runs `precision`'s products, for the startup line: 'AMX', 'AVX512-BF16', ..."""
        if precision == "bf16":
            return "AMX" if self.amx_bf16 else "AVX512-BF16" if self.bf16 else "emulated"
        if precision == "int8":
            if self.amx_int8:
                return "AMX"
            return "AVX512-VNNI" if "avx512_vnni" in self.flags else "AVX-VNNI" if self.int8 else "emulated"
        return "AVX512" if "avx512f" in self.flags else "AVX2" if "avx2" in self.flags else "SSE"


def parse_cpuinfo(text: str) -> CpuFeatures:
    for line in text.splitlines():
        if line.startswith("flags"):
            return CpuFeatures(frozenset(line.split(":", 1)[1].split()))
    return CpuFeatures(frozenset())


@lru_cache(maxsize=1)
def cpu_features() -> CpuFeatures:
    try:
        return parse_cpuinfo(Path("/proc/cpuinfo").read_text())
    except OSError:  # not Linux: assume nothing beyond fp32
        return CpuFeatures(frozenset())
