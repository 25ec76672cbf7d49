"""Evaluation errors a user can cause: each a ``CorpuskitError`` (one located line, code, hint)."""

from __future__ import annotations

from corpuskit.errors import CorpuskitError


class TaskError(CorpuskitError):
    """A task definition or a task data file is invalid (missing fields, unknown task)."""

    code = "task_invalid"
    default_hint = "see docs/evaluation.md for the task file format"


class ScoringModelError(CorpuskitError):
    """A model path cannot be scored: no config, no tokenizer, unknown objective."""

    code = "model_invalid"
    default_hint = (
        "pass a folder saved with save_pretrained (model + tokenizer) or a run's model/ folder"
    )


class EwokError(CorpuskitError):
    """The EWoK config zip is missing, damaged, or the password is wrong."""

    code = "ewok_invalid"
    default_hint = "EWoK's config.zip is password-protected; its terms of use give the password"
