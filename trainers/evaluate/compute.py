"""Opt-in compute precision for the scorer's forward pass: fp32 (default), tf32 or bf16.

- ``fp32``: nothing is touched; scores are bit-identical to scoring without this module.
- ``tf32``: float32 matmuls may use TensorFloat-32 (``torch.set_float32_matmul_precision("high")``)
  for the duration of one forward pass; the global setting is restored afterwards, also when the
  forward raises, so scoring never leaks global state into the caller's training or tests.
- ``bf16``: ``torch.autocast(bfloat16)`` around the forward pass only, except the output Linear
  (when the model exposes it), which runs in float32 on the bf16 hidden states: logits rounded
  to bf16's 8 significant bits (a logit of 10 by up to 0.04) are the "log-probs in bf16" defect
  by another route; the float32 head costs one small matmul (only read positions go through it).

Only the model's forward pass changes: the scorer's log-softmax and gather stay in its
``precision`` (float32 or float64) whatever ``compute`` is, since log-probs computed in bf16 tie
minimal pairs that differ by less than bf16's resolution.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, Literal

import torch
from torch import nn

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


@contextlib.contextmanager
def float32_head(head: nn.Linear | None, compute: Compute, device: torch.device) -> Iterator[None]:
    """Under ``bf16``, ``head`` computes its logits in float32 inside the block (see module doc)."""
    if compute != "bf16" or head is None:
        yield
        return
    own = head.__dict__.get("forward")  # an instance-level forward to put back, if any
    forward = head.forward

    def wide(hidden: torch.Tensor) -> torch.Tensor:
        with torch.autocast(device.type, enabled=False):
            return forward(hidden.float())

    head.forward = wide  # type: ignore[method-assign]
    try:
        yield
    finally:
        if own is None:
            del head.forward
        else:
            head.forward = own  # type: ignore[method-assign]


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
