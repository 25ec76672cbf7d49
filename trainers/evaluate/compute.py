"""Opt-in compute precision for the scorer's forward pass: fp32 (default), tf32 or bf16.

- ``fp32``: nothing is touched; scores are bit-identical to scoring without this module.
- ``tf32``: float32 matmuls may use TensorFloat-32 (``torch.set_float32_matmul_precision("high")``)
  for the duration of one forward pass; the global setting is restored afterwards, also when the
  forward raises, so scoring never leaks global state into the caller's training or tests.
- ``bf16``: ``torch.autocast(bfloat16)`` around the forward pass only.

Only the model's forward pass changes: the scorer's log-softmax and gather stay in its
``precision`` (float32 or float64) whatever ``compute`` is, since log-probs computed in bf16 tie
minimal pairs that differ by less than bf16's resolution.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, Literal

import torch

from trainers.evaluate.errors import ScoringModelError

Compute = Literal["fp32", "tf32", "bf16"]
COMPUTE: tuple[str, ...] = ("fp32", "tf32", "bf16")
COMPUTE_HINT = (
    "fp32 (default: the protocol), tf32 (TensorFloat-32 matmuls) or bf16 (bfloat16 autocast "
    "of the forward pass); tf32 and bf16 move scores by rounding"
)

# torch >= 2.9 keeps per-backend ``fp32_precision`` settings (global, CUDA matmul, oneDNN
# matmul) next to the legacy global string; both are saved and restored, since restoring one
# alone leaves the other (or a getter) changed. The oneDNN one is a runtime object (no stubs).
_HOLDERS: tuple[Any, ...] = (
    torch.backends,
    getattr(torch.backends.cuda, "matmul", None),
    getattr(torch.backends.mkldnn, "matmul", None),
)


def check_compute(value: str, location: str = "compute") -> Compute:
    """``value`` if it is a known compute precision, else a located one-line error."""
    if value not in COMPUTE:
        raise ScoringModelError(
            f"unknown compute precision {value!r} (expected one of {', '.join(COMPUTE)})",
            hint=COMPUTE_HINT,
            location=location,
        )
    return value  # type: ignore[return-value]


def forward_precision(
    compute: Compute, device: torch.device
) -> contextlib.AbstractContextManager[object]:
    """The context to run one forward pass of the scored model in."""
    if compute == "tf32":
        return tf32_matmuls()
    if compute == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def matmul_precision_state() -> tuple[str | None, ...]:
    """The global fp32 matmul settings (legacy string, then per-backend ones where present)."""
    return (_legacy_precision(), *(getattr(h, "fp32_precision", None) for h in _HOLDERS))


@contextlib.contextmanager
def tf32_matmuls() -> Iterator[None]:
    """TF32 float32 matmuls inside the block; every global matmul setting restored on exit."""
    legacy, *fine = matmul_precision_state()
    if legacy is not None:
        torch.set_float32_matmul_precision("high")
    else:
        # The caller mixed torch's legacy and per-backend APIs, so the legacy getter raises;
        # stay with the per-backend API, which then keeps working.
        for holder in _HOLDERS[1:]:
            holder.fp32_precision = "tf32"
    try:
        yield
    finally:
        if legacy is not None:
            torch.set_float32_matmul_precision(legacy)
        for holder, value in zip(_HOLDERS, fine, strict=True):
            if value is not None:
                holder.fp32_precision = value


def _legacy_precision() -> str | None:
    try:
        return torch.get_float32_matmul_precision()
    except RuntimeError:  # legacy and per-backend settings were mixed: no single answer
        return None
