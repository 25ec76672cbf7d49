"""``evaluate_model``: score any saved model on the tasks, optionally as a leaderboard row.

``corpuskit score`` evaluates the model it trained from a recipe. Researchers also compare with
models they did not train here: the BabyLM baselines (LTG-BERT, GPT-BERT, GPT-2 checkpoints from
the Hub, downloaded to a folder), or a run from another machine. This scores such a folder with
the same scorer and tasks, and can put it on the same leaderboard. The row is keyed by a digest
of the folder's files, so the same weights land on the same row whatever the folder is called,
and a retrained model never overwrites the row of another.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from trainers.evaluate.models import load_scoring_model
from trainers.evaluate.runner import EVAL_VERSION, EvalReport, EvalSettings, evaluate
from trainers.leaderboard import DEFAULT_DB, Leaderboard, RowKey
from trainers.score import check_tasks, data_root_or_default, task_labels

MODEL_TRAIN_HASH = "model"  # the train-hash column of a model row: no training config behind it
MODEL_CONFIG_NAME = "(saved model)"


@dataclass
class ModelEvalOutcome:
    path: Path  # the folder that was scored (a run's model/ when given the run)
    digest: str
    objective: str
    eval: EvalReport
    key: RowKey | None  # the leaderboard row, when one was written
    db: Path | None


def resolve_model_folder(path: str | Path) -> Path:
    """A run directory stands for its exported ``model/``; any other path is used as given."""
    folder = Path(path)
    return folder / "model" if (folder / "model" / "trainers.json").is_file() else folder


def model_digest(folder: Path) -> str:
    """sha256 over the names and bytes of the folder's files (weights, config, tokenizer)."""
    digest = hashlib.sha256()
    for file in sorted(p for p in folder.iterdir() if p.is_file()):
        digest.update(file.name.encode() + b"\0")
        with file.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:16]


def evaluate_model(
    model: str | Path,
    tasks: list[str],
    *,
    data_root: str | Path | None = None,
    settings: EvalSettings | None = None,
    objective: str | None = None,
    trust_remote_code: bool = False,
    cache_dir: str | Path | None = None,
    leaderboard_name: str | None = None,
    db: str | Path = DEFAULT_DB,
) -> ModelEvalOutcome:
    """Score ``model`` (an HF folder, a run's ``model/`` or the run) on ``tasks``.

    ``cache_dir`` keeps results per model digest and objective (``<cache_dir>/<digest>-<obj>/``),
    so one cache folder serves many models. ``leaderboard_name`` records a row named so in
    ``db``, keyed by (digest, ``"model"``, EVAL_VERSION, seed 0).
    """
    settings = settings or EvalSettings()
    folder = resolve_model_folder(model)
    root = data_root_or_default(data_root)
    check_tasks(tasks, root)  # a broken task file fails before the model loads
    scoring = load_scoring_model(folder, objective=objective, trust_remote_code=trust_remote_code)
    scoring = scoring.to(settings.device)
    digest = model_digest(folder)
    cache = Path(cache_dir) / f"{digest}-{scoring.objective}" if cache_dir is not None else None
    report = evaluate(scoring, tasks, data_root=root, settings=settings, cache_dir=cache)
    key = None
    board_path = None
    if leaderboard_name is not None:
        key = RowKey(digest, MODEL_TRAIN_HASH, EVAL_VERSION, 0)
        board = Leaderboard(db)
        board.record(
            key,
            report.results,
            recipe_name=leaderboard_name,
            config_name=MODEL_CONFIG_NAME,
            run_dir=str(folder.resolve()),
            objective=scoring.objective,
            task_names=task_labels(tasks, settings),
        )
        board_path = board.path
    return ModelEvalOutcome(folder, digest, scoring.objective, report, key, board_path)
