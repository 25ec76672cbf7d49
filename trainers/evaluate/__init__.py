"""Evaluation: minimal-pair scoring (BLiMP, user files, EWoK) and fine-tuning (GLUE/SuperGLUE).

``EVAL_VERSION`` pins the protocol; see docs/evaluation.md.
"""

from __future__ import annotations

from trainers.evaluate.models import ScoringModel, load_scoring_model
from trainers.evaluate.runner import (
    EVAL_VERSION,
    EvalReport,
    EvalSettings,
    TaskResult,
    evaluate,
)
from trainers.evaluate.scorer import MinimalPairScorer, PairScores
from trainers.evaluate.tasks import BUILTIN, Pair, TaskSpec, load_pairs, resolve_task

__all__ = [
    "BUILTIN",
    "EVAL_VERSION",
    "EvalReport",
    "EvalSettings",
    "MinimalPairScorer",
    "Pair",
    "PairScores",
    "ScoringModel",
    "TaskResult",
    "TaskSpec",
    "evaluate",
    "load_pairs",
    "load_scoring_model",
    "resolve_task",
]
