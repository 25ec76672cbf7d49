"""Learning-rate schedules (exact values) and the LAMB optimizer."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from tests.trainers.helpers import tiny_config
from trainers.optim import Lamb, lr_at, make_optimizer


def test_cosine_schedule_values() -> None:
    config = tiny_config("lr=1.0", "min_lr_ratio=0.1", "warmup_steps=3", "schedule=cosine")
    lrs = [lr_at(s, 13, config) for s in range(13)]
    assert lrs[:3] == [0.25, 0.5, 0.75]
    assert lrs[3] == 1.0 and lrs[12] == pytest.approx(0.1)
    assert lrs[8] == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 5 / 9)))
    assert all(a >= b for a, b in itertools.pairwise(lrs[3:]))


def test_wsd_schedule_values() -> None:
    config = tiny_config(
        "lr=1.0", "min_lr_ratio=0.0", "warmup_steps=1", "schedule=wsd", "decay_fraction=0.25"
    )
    assert [lr_at(s, 8, config) for s in range(8)] == [0.5, 1.0, 1.0, 1.0, 1.0, 1.0, 0.5, 0.0]


def test_lamb_update_is_scaled_by_the_trust_ratio() -> None:
    weight = torch.nn.Parameter(torch.full((4,), 2.0))
    opt = Lamb([weight], lr=0.1, betas=(0.9, 0.999), eps=0.0)
    weight.grad = torch.tensor([1.0, -1.0, 1.0, -1.0])
    opt.step()
    # first Adam step: update = sign(grad); trust = ||w|| / ||update|| = 4 / 2 = 2
    assert torch.allclose(weight.detach(), torch.tensor([1.8, 2.2, 1.8, 2.2]))


def test_weight_decay_skips_vectors() -> None:
    model = torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.LayerNorm(3))
    opt = make_optimizer(model, tiny_config("weight_decay=0.5", "optimizer=lamb"), "cpu")
    decayed, plain = opt.param_groups
    assert decayed["weight_decay"] == 0.5 and [p.shape for p in decayed["params"]] == [(3, 3)]
    assert plain["weight_decay"] == 0.0 and len(plain["params"]) == 3
