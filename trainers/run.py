"""The run directory: layout, versions, the JSONL log, checkpoints, FLOPs and MFU.

runs/<recipe>/<recipe-hash>/<config-hash>/
    config.yaml      resolved TrainConfig (every field)
    versions.json    corpuskit, torch, transformers, tokenizers, python, git commit
    build.json       the build path, recipe hash, words and documents trained on
    log.jsonl        one line per logged step (loss, lr, tokens/s, MFU) and per validation
    checkpoints/     step-XXXXXXX.pt (model, optimizer, RNG states, data position)
    model/           exported model + tokenizer (see trainers.models)
    metrics.json     written last: its presence marks the run finished
"""

from __future__ import annotations

import functools
import json
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

import torch
from torch import nn

import corpuskit
from corpuskit.shards import Build
from trainers.config import TrainConfig

FLOPS_FORMULA = (
    "flops/token = 6·N + 12·n_layer·d_model·block_size (PaLM appendix B, as in nanoGPT); "
    "N = parameters outside the input embedding, counting the output head; attention counted "
    "in full even when causal; encoders' relative-position terms left out"
)
# Dense bf16 peak FLOP/s by device-name fragment (vendor data sheets, without sparsity).
PEAK_BF16 = {
    "H200": 989e12,
    "H100": 989e12,
    "A100": 312e12,
    "L40S": 362e12,
    "A10": 125e12,
    "L4": 121e12,
    "4090": 165e12,
    "3090": 71e12,
}


def run_dir(runs_dir: str | Path, build: Build, config: TrainConfig) -> Path:
    name = str(build.manifest.get("name") or build.manifest.get("recipe", {}).get("name", "build"))
    return Path(runs_dir) / name / build.recipe_hash / config.hash


@functools.lru_cache(maxsize=1)  # git is slow on a busy disk; one answer per process
def versions() -> dict[str, Any]:
    import tokenizers
    import transformers

    repo = Path(__file__).resolve().parents[1]
    git: dict[str, Any] = {"commit": None, "dirty": None}
    try:
        commit = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        status = subprocess.run(
            ["git", "-C", str(repo), "status", "--porcelain", "trainers"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
        git = {"commit": commit, "dirty": bool(status.strip())}
    except (OSError, subprocess.SubprocessError):
        pass  # not a git checkout (an installed wheel): versions of the packages still pin it
    return {
        "corpuskit": corpuskit.__version__,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "tokenizers": tokenizers.__version__,
        "python": platform.python_version(),
        "git": git,
    }


def write_json(path: Path, data: Any) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)


class RunLog:
    """Append-only JSONL log; on resume, lines past the checkpoint's step are dropped."""

    def __init__(self, path: Path):
        self.path = path

    def truncate(self, after_step: int) -> None:
        kept = [r for r in self.records() if r["step"] <= after_step]
        self.path.write_text("".join(json.dumps(r) + "\n" for r in kept))

    def write(self, record: dict[str, Any]) -> None:
        with self.path.open("a") as handle:
            handle.write(json.dumps(record) + "\n")

    def records(self) -> list[dict[str, Any]]:
        if not self.path.is_file():
            return []
        return [json.loads(line) for line in self.path.read_text().splitlines() if line.strip()]


def save_checkpoint(folder: Path, step: int, state: dict[str, Any], keep: int) -> Path:
    """Write atomically (temp file + rename), then prune all but the newest ``keep``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"step-{step:07d}.pt"
    tmp = folder / f".{path.name}.tmp"
    torch.save(state, tmp)
    os.replace(tmp, path)
    for old in sorted(folder.glob("step-*.pt"))[:-keep]:
        old.unlink()
    return path


def latest_checkpoint(folder: Path) -> Path | None:
    found = sorted(folder.glob("step-*.pt"))
    return found[-1] if found else None


def matmul_params(model: nn.Module) -> int:
    """Parameters that cost 6 FLOPs per token: everything but the input embedding lookup."""
    named = model.named_parameters(remove_duplicate=False)
    return sum(p.numel() for name, p in named if not name.startswith("embed_tokens."))


def flops_per_token(model: nn.Module, config: TrainConfig) -> float:
    return 6.0 * matmul_params(model) + 12.0 * config.n_layer * config.d_model * config.block_size


def peak_flops(device: str, config: TrainConfig) -> float | None:
    """Peak FLOP/s for MFU: ``peak_tflops`` if set, else the bf16 table for known GPUs."""
    if config.peak_tflops:
        return config.peak_tflops * 1e12
    if device != "cuda":
        return None
    name = torch.cuda.get_device_name()
    return next((v for k, v in PEAK_BF16.items() if k in name), None)
