"""The training loop: a corpuskit build + a TrainConfig → a run directory with an exported model.

    python -m trainers.train out/<name>/<hash> --config trainers/configs/tiny.yaml --set lr=1e-3

Exact resume: the data position is a single cursor (see trainers.data), the learning rate a
function of the step, and a checkpoint holds the model, optimizer and every RNG state, so a run
interrupted after any checkpoint continues with the same losses as one that never stopped.
"""

# ruff: noqa: N806  (nanoGPT house style: B, T, C shape names and F = functional)

from __future__ import annotations

import contextlib
import logging
import shutil
import time
from pathlib import Path
from typing import Any

import torch
from torch import nn

from corpuskit.shards import open_build
from trainers.config import COMPILE_MODES, CUDA_GRAPH_MODES, TrainConfig
from trainers.data import BlockOrder, check_trainable, tokenize_build, val_blocks
from trainers.errors import ResumeMismatchError, TrainConfigError
from trainers.models import build_model, count_params, export
from trainers.models.layers import ModelArgs, document_ids
from trainers.objectives import IGNORE, Batch, make_batch, model_summed_loss, pad_batch
from trainers.optim import lr_at, make_optimizer
from trainers.run import (
    FLOPS_FORMULA,
    RunLog,
    flops_per_token,
    latest_checkpoint,
    peak_flops,
    run_dir,
    save_checkpoint,
    versions,
    write_json,
)
from trainers.tokenizer import BOS, get_tokenizer, tokenizer_digest

log = logging.getLogger("trainers")


def train(
    build_path: str | Path,
    config: TrainConfig,
    runs_dir: str | Path = "runs",
    *,
    resume: bool = True,
    stop_after: int | None = None,
) -> Path:
    """Train on the build at ``build_path``; return the run directory.

    A finished run (``metrics.json`` present) is returned as is. ``resume=False`` discards the
    checkpoints of an unfinished run. ``stop_after`` checkpoints and returns after that many
    steps without finishing (a time-limited job; call again to continue).
    """
    build = open_build(build_path)
    out = run_dir(runs_dir, build, config)
    if (out / "metrics.json").is_file():
        return out
    cache = Path(runs_dir) / ".cache"
    tok, tok_folder = get_tokenizer(
        build, config.tokenizer_kind, config.vocab_size, config.objective, cache
    )
    digest = tokenizer_digest(tok_folder)
    store = tokenize_build(build, tok, digest, config.val_fraction, cache)
    order = BlockOrder(store, config.block_size, config.seed, config.epochs, config.curriculum)
    per_step = config.batch_size * config.grad_accum
    total_steps = _total_steps(config, check_trainable(order, per_step, build))

    out.mkdir(parents=True, exist_ok=True)
    if not resume:
        shutil.rmtree(out / "checkpoints", ignore_errors=True)
        (out / "log.jsonl").unlink(missing_ok=True)
    (out / "config.yaml").write_text(config.to_yaml())
    write_json(out / "versions.json", versions())
    write_json(
        out / "build.json",
        {
            "path": str(build.path),
            "recipe_hash": build.recipe_hash,
            "totals": build.manifest.get("totals", {}),
            "tokens": {k: store.index[k] for k in ("train_tokens", "val_tokens")},
            "stages": store.stages,
            "tokenizer_sha256": digest,
        },
    )
    device = _device(config)
    torch.manual_seed(config.seed)
    model = build_model(ModelArgs.from_config(config)).to(device)
    optimizer = make_optimizer(model, config, device)
    gen = torch.Generator().manual_seed(config.seed)
    state = {"step": 0, "elapsed": 0.0}
    checkpoint = latest_checkpoint(out / "checkpoints")
    if checkpoint is not None:
        # RNG states must stay CPU tensors; load_state_dict moves weights and moments to the device.
        saved = torch.load(checkpoint, map_location="cpu", weights_only=False)
        _check_resume(saved, checkpoint, digest, len(tok), config)
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        gen.set_state(saved["gen"])
        torch.set_rng_state(saved["torch_rng"])
        if device == "cuda" and saved.get("cuda_rng") is not None:
            torch.cuda.set_rng_state(saved["cuda_rng"])
        state = {"step": saved["step"], "elapsed": saved["elapsed"]}
        log.info("resumed %s at step %d", out, state["step"])
    runlog = RunLog(out / "log.jsonl")
    runlog.truncate(int(state["step"]))

    meta = {"tokenizer_sha256": digest, "n_vocab": len(tok), "config_hash": config.hash}
    loop = _Loop(config, model, optimizer, gen, order, device, runlog, out / "checkpoints", meta)
    loop.val = torch.from_numpy(val_blocks(store, config.block_size, config.eval_blocks))
    metrics = loop.run(state, total_steps, stop_after)
    loop.save(state)
    if state["step"] < total_steps:
        return out  # stopped early on request; the checkpoint lets the next call continue
    export(model, tok, out / "model")
    metrics.update(
        recipe_hash=build.recipe_hash,
        config_hash=config.hash,
        epochs_seen=order.epoch_of(total_steps * per_step),
        words_seen=round(
            build.manifest.get("totals", {}).get("words", 0)
            * order.epoch_of(total_steps * per_step)
        ),
    )
    write_json(out / "metrics.json", metrics)
    return out


def _total_steps(config: TrainConfig, available: int) -> int:
    if config.max_steps > available:
        raise TrainConfigError(
            f"max_steps={config.max_steps} needs more data than {config.epochs} epochs of this "
            f"build give ({available} steps)",
            hint="lower max_steps, or raise epochs (at most 10: the BabyLM cap)",
        )
    return config.max_steps or available


def _device(config: TrainConfig) -> str:
    if config.device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if config.device == "cuda" and not torch.cuda.is_available():
        raise TrainConfigError("device=cuda but no CUDA device is visible", hint="--set device=cpu")
    return config.device


def _check_resume(
    saved: dict[str, Any], path: Path, digest: str, n_vocab: int, config: TrainConfig
) -> None:
    problems = []
    if saved["tokenizer_sha256"] != digest or saved["n_vocab"] != n_vocab:
        problems.append(
            f"its tokenizer ({saved['n_vocab']} tokens, sha256 "
            f"{saved['tokenizer_sha256'][:12]}) differs from the build's "
            f"({n_vocab} tokens, sha256 {digest[:12]})"
        )
    if saved["config_hash"] != config.hash:
        problems.append(f"it was written by config {saved['config_hash']}, not {config.hash}")
    if problems:
        raise ResumeMismatchError(
            f"cannot resume from {path}: " + "; ".join(problems),
            hint=f"delete {path.parent} to start this run over (or pass --no-resume)",
        )


class _Loop:
    """The optimisation loop proper (kept apart so ``train`` reads as the run's outline)."""

    def __init__(
        self,
        config: TrainConfig,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        gen: torch.Generator,
        order: BlockOrder,
        device: str,
        runlog: RunLog,
        checkpoints: Path,
        meta: dict[str, Any],
    ):
        self.config, self.model, self.optimizer, self.gen = config, model, optimizer, gen
        self.order, self.device, self.runlog = order, device, runlog
        self.checkpoints, self.meta, self.n_vocab = checkpoints, meta, int(meta["n_vocab"])
        self.val = torch.zeros(0)
        bf16 = config.precision == "bf16" or (config.precision == "auto" and device == "cuda")
        self.autocast = (
            torch.autocast(device, dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()
        )
        compiled = config.compile == "on" or (config.compile == "auto" and device == "cuda")
        # The loss is compiled with the model: the fp32 upcast of the (B, T, V) logits and the
        # cross-entropy fuse instead of materialising a float copy of the logits. The opt-in
        # modes compile for one shape (validation pads its last batch to it), so a CUDA graph
        # captured once is replayed at every step instead of a dynamic-shape recompile.
        self.static_shapes = config.compile in COMPILE_MODES
        self.forward_loss = self._summed_loss
        if self.static_shapes:
            mode = config.compile
            self.forward_loss = torch.compile(self._summed_loss, mode=mode, dynamic=False)
        elif compiled:
            self.forward_loss = torch.compile(self._summed_loss)
        self.cuda_graphs = config.compile in CUDA_GRAPH_MODES and device == "cuda"
        self.flops_per_token = flops_per_token(model, config)
        self.peak = peak_flops(device, config)

    def micro_batch(
        self,
        cursor: int,
        n: int,
        gen: torch.Generator,
        objective: str | None = None,
        blocks: torch.Tensor | None = None,
        causal_fraction: float | None = None,
    ) -> Batch:
        c = self.config
        blocks = torch.from_numpy(self.order.batch(cursor, n)) if blocks is None else blocks
        return make_batch(
            blocks,
            objective or str(self.model.objective),
            first_sample=cursor,
            causal_fraction=c.causal_fraction if causal_fraction is None else causal_fraction,
            mask_rate=c.mask_rate,
            mask_span=c.mask_span,
            n_vocab=self.n_vocab,
            gen=gen,
        )

    def loss(self, batch: Batch) -> torch.Tensor:
        n = int((batch.targets != IGNORE).sum())  # counted on the CPU: no GPU sync
        inputs = batch.inputs.to(self.device, non_blocking=True)
        kwargs: dict[str, Any] = {}
        if self.config.doc_boundary == "attention":
            kwargs["doc_ids"] = document_ids(inputs, BOS)
        if batch.causal is not None:
            kwargs["causal"] = batch.causal.to(self.device)
        targets = batch.targets.to(self.device, non_blocking=True)
        if self.cuda_graphs:  # every call is a new iteration (grad_accum=1): replay, reuse memory
            torch.compiler.cudagraph_mark_step_begin()
        with self.autocast:
            total = self.forward_loss(inputs, targets, **kwargs)
        return total / max(n, 1)

    def _summed_loss(
        self, inputs: torch.Tensor, targets: torch.Tensor, **kwargs: Any
    ) -> torch.Tensor:
        chunk = self.config.loss_chunk_tokens  # 0: one pass over the (B, T, V) logits
        return model_summed_loss(self.model, inputs, targets, chunk, **kwargs)

    def run(self, state: dict[str, Any], total: int, stop_after: int | None) -> dict[str, Any]:
        c, B = self.config, self.config.batch_size
        tokens_per_step = B * c.grad_accum * c.block_size
        self.model.train()
        window_start, window_steps = time.perf_counter(), 0
        clock, paused, timed_steps, last_val, loss_log = 0.0, 0.0, 0, None, None
        while state["step"] < total and (stop_after is None or state["step"] < stop_after):
            step = state["step"]
            for group in self.optimizer.param_groups:
                group["lr"] = lr_at(step, total, c)
            step_loss = torch.zeros((), device=self.device)
            for micro in range(c.grad_accum):
                cursor = (step * c.grad_accum + micro) * B
                loss = self.loss(self.micro_batch(cursor, B, self.gen)) / c.grad_accum
                loss.backward()
                step_loss += loss.detach()
            if c.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), c.grad_clip)
            self.optimizer.step()
            self.optimizer.zero_grad(set_to_none=True)
            state["step"] = step = step + 1
            window_steps += 1
            if step % c.log_interval == 0 or step == total:
                loss_log = step_loss.item()  # syncs: the window timing below is honest
                now = time.perf_counter()
                tps = window_steps * tokens_per_step / (now - window_start)
                mfu = tps * self.flops_per_token / self.peak if self.peak else None
                self.runlog.write(
                    {
                        "step": step,
                        "loss": loss_log,
                        "lr": lr_at(step - 1, total, c),
                        "tokens": step * tokens_per_step,
                        "tokens_per_s": tps,
                        "mfu": mfu,
                        "epoch": self.order.epoch_of(step * B * c.grad_accum),
                    }
                )
                if not c.quiet:
                    log.info(
                        "step %d/%d loss %.4f tok/s %.0f%s",
                        step,
                        total,
                        loss_log,
                        tps,
                        f" mfu {mfu:.1%}" if mfu else "",
                    )
                window_start, window_steps = now, 0
            if clock:
                timed_steps += 1
            else:  # the first step pays for compilation and warm-up: the clock starts after it
                clock = self._now()
            do_eval = (c.eval_interval and step % c.eval_interval == 0) or step == total
            do_save = c.checkpoint_interval and step % c.checkpoint_interval == 0 and step < total
            if do_eval or do_save:  # validation and checkpoints are not training time
                pause = self._now()
                last_val = self.evaluate(step) if do_eval else last_val
                if do_save:
                    self.save(state)
                paused += time.perf_counter() - pause
        timed_s = self._now() - clock - paused if timed_steps else 0.0
        state["elapsed"] += timed_s
        speed = timed_steps * tokens_per_step / timed_s if timed_s else None
        return {
            "steps": state["step"],
            "tokens": state["step"] * tokens_per_step,
            "train_loss": loss_log,
            **(last_val or {}),
            "tokens_per_s": speed,
            "mfu": speed * self.flops_per_token / self.peak if speed and self.peak else None,
            "flops_per_token": self.flops_per_token,
            "flops_formula": FLOPS_FORMULA,
            "n_params": count_params(self.model),
            "n_params_non_embedding": count_params(self.model, embeddings=False),
            "device": torch.cuda.get_device_name() if self.device == "cuda" else "cpu",
            "precision": "bf16"
            if not isinstance(self.autocast, contextlib.nullcontext)
            else "fp32",
            "train_seconds": timed_s,
        }

    def _now(self) -> float:
        """Wall time after the device finished its queued work (CUDA runs asynchronously)."""
        if self.device == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter()

    def save(self, state: dict[str, Any]) -> None:
        """Checkpoint everything an exact resume needs (the data position is the step)."""
        cuda_rng = torch.cuda.get_rng_state() if self.device == "cuda" else None
        save_checkpoint(
            self.checkpoints,
            state["step"],
            {
                **self.meta,
                "step": state["step"],
                "elapsed": state["elapsed"],
                "model": self.model.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                "gen": self.gen.get_state(),
                "torch_rng": torch.get_rng_state(),
                "cuda_rng": cuda_rng,
            },
            self.config.keep_checkpoints,
        )

    @torch.no_grad()
    def evaluate(self, step: int) -> dict[str, Any]:
        """Loss on the held-out blocks (fixed masks: a fresh generator with a fixed seed)."""
        if len(self.val) == 0:
            return {}
        self.model.eval()
        objective = self.model.objective
        modes: dict[str, tuple[str, float | None]]
        if objective == "hybrid":  # report both readings of the hybrid model
            modes = {"causal": ("hybrid", 1.0), "masked": ("hybrid", 0.0)}
        elif objective == "masked":
            modes = {"masked": ("masked", None)}
        else:
            modes = {"causal": ("causal", None)}
        result: dict[str, Any] = {}
        for name, (obj, fraction) in modes.items():
            gen, total, count = torch.Generator().manual_seed(1234), 0.0, 0
            for start in range(0, len(self.val), self.config.batch_size):
                blocks = self.val[start : start + self.config.batch_size]
                batch = self.micro_batch(0, len(blocks), gen, obj, blocks, fraction)
                n = int((batch.targets != IGNORE).sum())
                if self.static_shapes:
                    batch = pad_batch(batch, self.config.batch_size)
                total += self.loss(batch).item() * n
                count += n
            result[f"val_loss_{name}"] = total / max(count, 1)
        result["val_loss"] = result.get("val_loss_causal", result.get("val_loss_masked"))
        self.runlog.write({"step": step, **result})
        self.model.train()
        return result


if __name__ == "__main__":  # python -m trainers.train BUILD_DIR --config ... --set k=v
    from trainers.cli_train import main

    main()
