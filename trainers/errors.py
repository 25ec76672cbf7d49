"""Trainer errors a user can cause: each a ``CorpuskitError`` (one line, stable code, hint)."""

from __future__ import annotations

from corpuskit.errors import CorpuskitError


class TrainConfigError(CorpuskitError):
    """A training config (YAML or ``--set key=value``) is invalid."""

    code = "train_config_invalid"
    default_hint = "see docs/training.md for every field and its default"


class EmptyBuildError(CorpuskitError):
    """The build holds too little text to train on."""

    code = "build_empty"
    default_hint = "check the recipe's filters and budget with `corpuskit inspect BUILD_DIR`"


class ResumeMismatchError(CorpuskitError):
    """A checkpoint does not fit the run it is resumed into (tokenizer, vocab, config)."""

    code = "resume_mismatch"


class ModelLoadError(CorpuskitError):
    """An exported model directory is missing or unreadable."""

    code = "model_load"
    default_hint = "pass the model/ folder of a finished run (runs/<recipe>/<hash>/<config>/model)"
