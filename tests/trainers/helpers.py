"""Helpers for the trainer tests: toy documents and the tiny config with overrides."""

from __future__ import annotations

import random

from trainers.config import TrainConfig

ARCHS = ("gpt", "ltgbert", "gptbert")


def toy_documents(n: int = 300, seed: int = 0) -> list[str]:
    """Documents from a tiny subject-verb-object grammar: learnable in 30 steps."""
    rng = random.Random(seed)
    subjects = ["the cat", "a dog", "the small bird", "my friend", "the teacher", "a child"]
    verbs = ["sees", "likes", "finds", "follows", "wants", "reads"]
    objects = ["the ball", "a red book", "the green tree", "an apple", "the old house", "a song"]
    return [
        " ".join(
            f"{rng.choice(subjects)} {rng.choice(verbs)} {rng.choice(objects)} ."
            for _ in range(rng.randint(1, 4))
        )
        for _ in range(n)
    ]


def tiny_config(*overrides: str) -> TrainConfig:
    return TrainConfig.load("tiny.yaml", ["quiet=true", *overrides])
