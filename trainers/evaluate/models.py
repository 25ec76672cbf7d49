"""Load anything we can score: a trainer run's ``model/`` folder or any HF model folder.

:class:`ScoringModel` hides the two kinds behind one call, ``logits(ids, mask)``. It also names
the module that turns hidden states into vocabulary logits (``head``), so the scorer can feed it
only the positions it reads (the masked slot, the real tokens) instead of every padded position.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from trainers.evaluate.errors import ScoringModelError

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "vocab.json")
OBJECTIVES = ("causal", "masked", "hybrid")


@dataclass
class ScoringModel:
    """A module in eval mode, its tokenizer, and how it was trained to predict tokens."""

    module: nn.Module
    tokenizer: Any  # a transformers PreTrainedTokenizerBase
    objective: str  # causal | masked | hybrid
    name: str
    kind: str  # "trainers" (our own modules) | "hf" (transformers Auto* classes)

    @property
    def device(self) -> torch.device:
        return next(self.module.parameters()).device

    @property
    def head(self) -> nn.Linear | None:
        """The last Linear (hidden → vocabulary), or None when the model hides it."""
        get = getattr(self.module, "get_output_embeddings", None)
        head = get() if callable(get) else getattr(self.module, "lm_head", None)
        return head if isinstance(head, nn.Linear) else None

    def logits(
        self, ids: torch.Tensor, mask: torch.Tensor, *, bidirectional: bool = False
    ) -> torch.Tensor:
        """Model output for ids (B, T) and mask (B, T); ``bidirectional`` only for hybrids."""
        if self.kind == "trainers":
            if self.objective == "hybrid":
                return self.module(ids, mask, causal=not bidirectional)
            return self.module(ids, mask)
        if self.objective == "causal":
            # Positions count real tokens only, so left padding (classification) is harmless.
            positions = (mask.long().cumsum(-1) - 1).clamp(min=0)
            return self.module(input_ids=ids, attention_mask=mask, position_ids=positions).logits
        return self.module(input_ids=ids, attention_mask=mask).logits

    def special_ids(self) -> set[int]:
        return {int(i) for i in self.tokenizer.all_special_ids}

    def to(self, device: str) -> ScoringModel:
        """Move the module to ``device`` (``auto``: CUDA when there is one); returns self."""
        self.module.to(resolve_device(device))
        return self


def resolve_device(device: str) -> torch.device:
    """``auto`` → cuda when available, else cpu; ``cuda`` without a GPU is a located error."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ScoringModelError(
            f"device {device!r} asked for, but torch sees no CUDA device",
            hint="use --device cpu (or auto)",
            location="--device",
        )
    if not device.startswith(("cpu", "cuda")):
        raise ScoringModelError(
            f"unknown device {device!r} (expected auto, cpu or cuda)", location="--device"
        )
    return torch.device(device)


def load_scoring_model(
    model: str | Path | tuple[nn.Module, Any],
    *,
    objective: str | None = None,
    trust_remote_code: bool = False,
) -> ScoringModel:
    """A :class:`ScoringModel` from a path (run ``model/`` or HF folder) or (module, tokenizer).

    ``trust_remote_code`` lets transformers run the model code saved in an HF folder (as
    LTG-BERT and GPT-BERT are shared, and as our encoder exports load without ``trainers``).
    """
    if isinstance(model, tuple):
        module, tokenizer = model
        found = objective or getattr(module, "objective", None) or _objective_of_hf(module.config)
        return ScoringModel(module.eval(), tokenizer, found, type(module).__name__, "trainers")
    path = Path(model)
    if (path / "trainers.json").is_file():
        from trainers.models import load_model

        module, tokenizer = load_model(path)
        found = objective or str(module.objective)
        return ScoringModel(module, tokenizer, found, str(path), "trainers")
    return _load_hf(path, objective, trust_remote_code)


def _load_hf(path: Path, objective: str | None, trust_remote_code: bool) -> ScoringModel:
    if not path.is_dir():
        # Scoring never downloads (no network at run time); a Hub id is fetched once, by hand.
        hub_id = len(path.parts) == 2 and not path.is_absolute() and not path.parent.exists()
        hint = (
            f"to score the Hub model {path.as_posix()}, download it first: "
            f"huggingface-cli download {path.as_posix()} --local-dir models/{path.name}"
            if hub_id
            else None
        )
        raise ScoringModelError(
            f"model folder does not exist (looked for {path})", hint=hint, location=str(path)
        )
    config_file = path / "config.json"
    if not config_file.is_file():
        raise ScoringModelError("no config.json: not a saved HF model", location=str(path))
    if not any((path / name).is_file() for name in TOKENIZER_FILES):
        raise ScoringModelError(
            "model folder has no tokenizer (expected one of " + ", ".join(TOKENIZER_FILES) + ")",
            hint="save it next to the weights: tokenizer.save_pretrained(folder)",
            location=str(path),
        )
    from transformers import (
        AutoConfig,
        AutoModelForCausalLM,
        AutoModelForMaskedLM,
        AutoTokenizer,
    )

    hf_options: dict[str, Any] = {"local_files_only": True, "trust_remote_code": trust_remote_code}
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING

    saved = json.loads(config_file.read_text())
    # Code in the folder runs only when allowed; a known model_type loads without it.
    if (
        "auto_map" in saved
        and saved.get("model_type") not in CONFIG_MAPPING
        and not trust_remote_code
    ):
        raise ScoringModelError(
            "the model's code is saved in its folder (config.json has an auto_map) and running "
            "it was not allowed",
            hint="if you trust the .py files next to config.json, pass trust_remote_code=True "
            "(corpuskit evaluate: --trust-remote-code)",
            location=str(config_file),
        )
    config = AutoConfig.from_pretrained(path, **hf_options)
    found = objective or _objective_of_hf(config)
    if found not in ("causal", "masked"):
        raise ScoringModelError(
            f"objective {found!r} is not scorable for a plain HF model (causal or masked)",
            location=str(config_file),
        )
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # a bar per weights file is noise in a score's output
    auto = AutoModelForCausalLM if found == "causal" else AutoModelForMaskedLM
    module = auto.from_pretrained(path, dtype=torch.float32, **hf_options)
    tokenizer = AutoTokenizer.from_pretrained(path, **hf_options)
    return ScoringModel(module.eval(), tokenizer, found, str(path), "hf")


def _objective_of_hf(config: Any) -> str:
    """causal or masked, from the architectures recorded in config.json."""
    names = list(getattr(config, "architectures", None) or [])
    if any(n.endswith(("ForMaskedLM", "ForPreTraining")) for n in names):
        return "masked"
    if any(n.endswith(("ForCausalLM", "LMHeadModel")) for n in names):
        return "causal"
    if getattr(config, "is_decoder", False):
        return "causal"
    raise ScoringModelError(
        f"cannot tell causal from masked for architectures {names or '(none)'}",
        hint="pass --objective causal|masked",
    )


def read_trainers_meta(path: Path) -> dict[str, Any]:
    """The ``trainers.json`` of an exported run model (arch, objective, shape)."""
    return json.loads((path / "trainers.json").read_text())
