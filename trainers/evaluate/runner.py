"""Run tasks on a model, aggregate (accuracy, ties, per-group), and cache results on disk.

A result is cached under a key of everything that can change it: ``EVAL_VERSION``, each task's
full definition (with its version), the pair limit, and the scorer settings (the forward pass's
``compute`` precision among them). Scoring the same model with the same key again reads the JSON
file instead of running the model.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from trainers.evaluate.compute import Compute, check_compute
from trainers.evaluate.models import ScoringModel, load_scoring_model
from trainers.evaluate.scorer import MinimalPairScorer
from trainers.evaluate.tasks import Pair, TaskSpec, load_pairs, resolve_task
from trainers.keys import keyed_fields, short_key

# The evaluation protocol. Bump it (and add a CHANGELOG line) whenever scoring, a task's data or
# an aggregation changes in a way that moves scores; leaderboard rows are keyed by it.
EVAL_VERSION = "1.0"


@dataclass
class GroupScore:
    score: float
    n: int
    ties: int


@dataclass
class TaskResult:
    """One task's score; ``groups[field][label]`` breaks it down (paradigm, phenomenon...)."""

    task: str
    version: int
    metric: str
    score: float
    n: int
    ties: int = 0
    groups: dict[str, dict[str, GroupScore]] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TaskResult:
        groups = {
            g: {label: GroupScore(**v) for label, v in labels.items()}
            for g, labels in data.get("groups", {}).items()
        }
        return cls(**{**data, "groups": groups})


@dataclass
class EvalSettings:
    """Everything besides the model and the tasks that can change a score."""

    limit: int | None = None  # pairs per file (BLiMP: per paradigm); None = all
    mode: Literal["auto", "causal", "masked", "mntp"] = "auto"
    reduction: Literal["sum", "mean"] = "sum"
    precision: Literal["float32", "float64"] = "float32"
    # The model's forward pass: fp32 (the protocol), or tf32 / bf16 (opt-in, for speed on a GPU;
    # scores move by rounding). Keyed, so it never shares a cache entry with fp32 scores.
    compute: Compute = "fp32"
    finetune: dict[str, Any] = field(default_factory=dict)  # FinetuneSettings overrides
    # Where the model runs: auto = CUDA when available. Not part of the cache key: CPU and GPU
    # pair scores agree to float32 rounding (tests/evaluate/test_gpu.py), like batch size.
    # Fine-tuning on CUDA uses bf16 and length-grouped batches (finetune.py), so its scores
    # differ from CPU ones by more than rounding, as training with ``precision: auto`` does;
    # like the trainer's config hash, the key names the protocol, not the device that ran it.
    device: str = "auto"

    def __post_init__(self) -> None:
        check_compute(self.compute, location="EvalSettings.compute")  # before any build or training


@dataclass
class EvalReport:
    results: list[TaskResult]
    key: str
    cached: bool
    path: Path | None = None


def accuracy_result(
    spec: TaskSpec, pairs: list[Pair], correct: np.ndarray, ties: np.ndarray
) -> TaskResult:
    """Accuracy over pairs (ties are errors) with the same numbers per group label."""
    groups: dict[str, dict[str, GroupScore]] = {}
    for name in spec.group_by:
        index: dict[str, list[int]] = defaultdict(list)
        for i, pair in enumerate(pairs):
            index[pair.groups[name]].append(i)
        groups[name] = {
            label: GroupScore(float(correct[ix].mean()), len(ix), int(ties[ix].sum()))
            for label, ix in sorted(index.items())
        }
    score = float(correct.mean()) if len(pairs) else 0.0
    return TaskResult(
        spec.name, spec.version, spec.metric, score, len(pairs), int(ties.sum()), groups
    )


def score_pair_task(scorer: MinimalPairScorer, spec: TaskSpec, pairs: list[Pair]) -> TaskResult:
    """Score every pair in one batched pass and aggregate."""
    has_prefix = any(p.good_prefix is not None or p.bad_prefix is not None for p in pairs)
    scores = scorer.score_pairs(
        [p.good for p in pairs],
        [p.bad for p in pairs],
        [p.good_prefix for p in pairs] if has_prefix else None,
        [p.bad_prefix for p in pairs] if has_prefix else None,
    )
    return accuracy_result(spec, pairs, scores.correct, scores.ties)


# Settings added after EVAL_VERSION 1.0 join the key only away from their default, so the keys
# (and caches) of runs made before they existed stay valid.
_KEYED_ONLY_IF_SET = {"compute": "fp32"}


def eval_key(specs: list[TaskSpec], settings: EvalSettings) -> str:
    keyed = keyed_fields(asdict(settings), {"device"}, _KEYED_ONLY_IF_SET)
    return short_key([EVAL_VERSION, [s.model_dump(mode="json") for s in specs], keyed])


def evaluate(
    model: str | Path | ScoringModel,
    tasks: list[str],
    *,
    data_root: Path | None = None,
    settings: EvalSettings | None = None,
    cache_dir: Path | None = None,
    trust_remote_code: bool = False,
) -> EvalReport:
    """Score ``model`` on ``tasks`` (names, task YAMLs or .jsonl files); cached in ``cache_dir``.

    ``trust_remote_code``: for an HF folder whose model code is saved with it (see
    :func:`~trainers.evaluate.models.load_scoring_model`).
    """
    settings = settings or EvalSettings()
    specs = [resolve_task(t) for t in tasks]
    key = eval_key(specs, settings)
    path = cache_dir / f"{key}.json" if cache_dir is not None else None
    if path is not None and path.is_file():
        stored = json.loads(path.read_text())
        results = [TaskResult.from_dict(r) for r in stored["results"]]
        return EvalReport(results, key, cached=True, path=path)
    # A ScoringModel passed in stays where its caller put it; one loaded here follows settings.
    if isinstance(model, ScoringModel):
        scoring = model
    else:
        scoring = load_scoring_model(model, trust_remote_code=trust_remote_code)
        scoring = scoring.to(settings.device)
    results = [_run_task(scoring, spec, data_root, settings) for spec in specs]
    if path is not None:
        _write_json(
            path,
            {
                "eval_version": EVAL_VERSION,
                "key": key,
                "settings": asdict(settings),
                "results": [r.to_dict() for r in results],
            },
        )
    return EvalReport(results, key, cached=False, path=path)


def _run_task(
    model: ScoringModel, spec: TaskSpec, data_root: Path | None, settings: EvalSettings
) -> TaskResult:
    if spec.kind == "finetune":
        from trainers.evaluate.finetune import FINETUNE_TASKS, FinetuneSettings, finetune_task

        ft = FinetuneSettings(**settings.finetune)
        return finetune_task(model, FINETUNE_TASKS[spec.name], data_root, ft)
    if spec.kind == "ewok":
        from trainers.evaluate.ewok import load_ewok_pairs

        pairs = load_ewok_pairs(spec, data_root, limit=settings.limit)
    else:
        pairs = load_pairs(spec, data_root, limit=settings.limit)
    scorer = MinimalPairScorer(
        model,
        mode=settings.mode,
        reduction=settings.reduction,
        precision=settings.precision,
        compute=settings.compute,
    )
    return score_pair_task(scorer, spec, pairs)


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)
