"""Optimizers (AdamW, LAMB) and learning-rate schedules (warmup + cosine, warmup + WSD).

The learning rate is a pure function of the step, so the scheduler has no state to checkpoint
beyond the step itself.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import torch
from torch import nn

from trainers.config import TrainConfig


def make_optimizer(model: nn.Module, config: TrainConfig, device: str) -> torch.optim.Optimizer:
    """Weight decay on matrices only (not norms, biases, relative-position tables' norms)."""
    params = {id(p): (n, p) for n, p in model.named_parameters() if p.requires_grad}
    decay = [p for n, p in params.values() if p.dim() >= 2]
    no_decay = [p for n, p in params.values() if p.dim() < 2]
    groups = [
        {"params": decay, "weight_decay": config.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    betas = (config.beta1, config.beta2)
    if config.optimizer == "lamb":
        return Lamb(groups, lr=config.lr, betas=betas)
    # fused: one kernel for all tensors (CUDA and, since torch 2.4, CPU)
    return torch.optim.AdamW(groups, lr=config.lr, betas=betas, fused=True)


def lr_at(step: int, total: int, config: TrainConfig) -> float:
    """Learning rate for optimizer step ``step`` (0-based) of ``total``."""
    peak, low = config.lr, config.lr * config.min_lr_ratio
    warmup = min(config.warmup_steps, max(total - 1, 0))
    if step < warmup:
        return peak * (step + 1) / (warmup + 1)
    if config.schedule == "wsd":  # warmup, stable at the peak, linear decay over the last part
        decay_start = total - max(1, round(config.decay_fraction * total))
        if step < decay_start:
            return peak
        progress = (step - decay_start + 1) / max(1, total - decay_start)
        return peak + (low - peak) * progress
    progress = (step - warmup) / max(1, total - 1 - warmup)
    return low + (peak - low) * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))


class Lamb(torch.optim.Optimizer):
    """LAMB (You et al. 2020): Adam moments, update scaled per tensor by ||w|| / ||update||."""

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.98),
        eps: float = 1e-6,
        weight_decay: float = 0.0,
    ):
        super().__init__(
            params, {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay}
        )

    @torch.no_grad()
    def step(self, closure: Any = None) -> None:  # type: ignore[override]
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(p)
                    state["exp_avg_sq"] = torch.zeros_like(p)
                state["step"] += 1
                m, v = state["exp_avg"], state["exp_avg_sq"]
                m.mul_(beta1).add_(p.grad, alpha=1 - beta1)
                v.mul_(beta2).addcmul_(p.grad, p.grad, value=1 - beta2)
                m_hat = m / (1 - beta1 ** state["step"])
                v_hat = v / (1 - beta2 ** state["step"])
                update = m_hat / (v_hat.sqrt() + group["eps"]) + group["weight_decay"] * p
                w_norm, u_norm = p.norm(), update.norm()
                trust = torch.where((w_norm > 0) & (u_norm > 0), w_norm / u_norm, 1.0)
                p.add_(update * trust, alpha=-group["lr"])
