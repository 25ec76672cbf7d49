"""Trainer throughput: our loop vs HF ``Trainer`` on the same model, data, batch and precision.

    python benchmarks/trainer_throughput.py --hf-compile off      # CPU: the tiny config
    python benchmarks/trainer_throughput.py --configs babylm-small.yaml babylm-base.yaml \\
        --steps 60                                                # GPU (bf16, torch.compile)
    python benchmarks/trainer_throughput.py --configs babylm-base.yaml --repeat 1 \\
        --ours "" "batch_size=128 grad_accum=1 loss_chunk_tokens=8192"   # sweep our levers
    python benchmarks/trainer_throughput.py --configs babylm-base.yaml --set batch_size=128 \\
        --loss-memory 0 16384 4096                # the output head + loss alone, per chunk size

Both sides train the ``gpt`` architecture (our GPT; HF's ``LlamaForCausalLM`` with the identical
config, which is what our export produces) on the same packed blocks of a synthetic build, for
``--steps`` optimizer steps. HF ``Trainer`` runs with ``torch_compile=True`` and at its default
(no compile), both in the same run (``--hf-compile``). ``--set`` changes the config of both sides;
each ``--ours`` string is one variant of our trainer only (space-separated ``key=value``: compile
mode, ``loss_chunk_tokens``, micro-batch), which must keep the model shape. Tokens/s excludes the
first step (compilation, warm-up) and validation; MFU uses the FLOPs formula of trainers.run
(6·N + 12·L·d·T per token) against the device's bf16 peak (or ``--peak-tflops``). Prints one table
(a ratio row per trainers variant and HF baseline); each run's figures and, on CUDA, its peak
memory also go to stderr as the run ends.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

import corpuskit
from trainers.config import TrainConfig
from trainers.data import BlockOrder, tokenize_build
from trainers.models import build_model, llama_config
from trainers.models.layers import ModelArgs
from trainers.run import flops_per_token, peak_flops
from trainers.tokenizer import get_tokenizer, tokenizer_digest
from trainers.train import train

TOKENS_PER_WORD_BABYLM = 1.66  # REFERENCES.md: strict-small with a 16k BPE
Result = dict[str, float | None]  # tokens_per_s, loss (mean of the logged steps), peak_gib


def synthetic_build(out: Path, words: int) -> Path:
    """A build of random sentences over a 2,000-word vocabulary (content does not matter here)."""
    rng = random.Random(0)
    vocab = [f"w{i}" for i in range(2000)]
    docs, total = [], 0
    while total < words:
        n = rng.randint(20, 200)
        docs.append(" ".join(rng.choice(vocab) for _ in range(n)) + " .")
        total += n + 1
    recipe = corpuskit.Recipe(name="bench", sources=[corpuskit.DocumentsSource(documents=docs)])
    return Path(recipe.build(out=out).path)


def fresh() -> None:
    """Every run starts as in a new process: no compiled graphs, CUDA graphs or cached blocks.

    Without the reset, runs of several variants in one process pile up recompilations of the
    same code until dynamo's recompile limit makes it fall back to eager, silently.
    """
    gc.collect()
    torch._dynamo.reset()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def peak_gib() -> float | None:
    return torch.cuda.max_memory_allocated() / 2**30 if torch.cuda.is_available() else None


def ours(build: Path, config: TrainConfig, runs: Path) -> Result:
    fresh()
    run = train(build, config, runs, resume=False)
    metrics = json.loads((run / "metrics.json").read_text())
    records = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    losses = [r["loss"] for r in records if "loss" in r]
    return {
        "tokens_per_s": metrics["tokens_per_s"],
        "loss": sum(losses) / len(losses),
        "peak_gib": peak_gib(),
    }


def guarded(label: str, measure: Callable[..., Result], *args: Any) -> Result:
    """One run; out of GPU memory it becomes a 0 tokens/s row instead of ending the sweep."""
    try:
        return measure(*args)
    except torch.OutOfMemoryError:
        print(f"{label}: out of GPU memory", file=sys.stderr, flush=True)
        return {"tokens_per_s": 0.0, "loss": float("nan"), "peak_gib": peak_gib()}


def hf_trainer(build: Path, config: TrainConfig, runs: Path, device: str, compiled: bool) -> Result:
    """The same model, blocks and hyper-parameters through ``transformers.Trainer``."""
    from transformers import LlamaForCausalLM, Trainer, TrainerCallback, TrainingArguments

    b = corpuskit.open_build(build)
    tok, folder = get_tokenizer(
        b, config.tokenizer_kind, config.vocab_size, "causal", runs / ".cache"
    )
    store = tokenize_build(b, tok, tokenizer_digest(folder), config.val_fraction, runs / ".cache")
    order = BlockOrder(store, config.block_size, config.seed, config.epochs)
    n = config.max_steps * config.batch_size * config.grad_accum

    class Blocks(torch.utils.data.Dataset):  # type: ignore[type-arg]
        def __len__(self) -> int:
            return n

        def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
            ids = torch.from_numpy(order.batch(i, 1)[0, :-1])
            return {"input_ids": ids, "labels": ids}

    class Clock(TrainerCallback):  # type: ignore[misc]
        marks: list[float] = []  # noqa: RUF012

        def on_step_end(self, args, state, control, **kwargs):  # type: ignore[no-untyped-def]
            if device == "cuda":
                torch.cuda.synchronize()
            self.marks.append(time.perf_counter())

    fresh()
    bf16 = device == "cuda" and config.precision != "fp32"
    args = TrainingArguments(
        output_dir=str(runs / "hf"),
        per_device_train_batch_size=config.batch_size,
        gradient_accumulation_steps=config.grad_accum,
        max_steps=config.max_steps,
        learning_rate=config.lr,
        weight_decay=config.weight_decay,
        adam_beta1=config.beta1,
        adam_beta2=config.beta2,
        max_grad_norm=config.grad_clip or 1e9,
        lr_scheduler_type="cosine",
        warmup_steps=config.warmup_steps,
        bf16=bf16,
        torch_compile=compiled,
        logging_strategy="no",
        save_strategy="no",
        report_to=[],
        dataloader_num_workers=0,
        seed=config.seed,
        use_cpu=device == "cpu",
        disable_tqdm=True,
    )
    torch.manual_seed(config.seed)
    model = LlamaForCausalLM(llama_config(ModelArgs.from_config(config)))
    clock = Clock()
    result = Trainer(model=model, args=args, train_dataset=Blocks(), callbacks=[clock]).train()
    marks = clock.marks
    tokens = (len(marks) - 1) * config.batch_size * config.grad_accum * config.block_size
    # training_loss: HF's mean over all steps, like ours above
    return {
        "tokens_per_s": tokens / (marks[-1] - marks[0]),
        "loss": result.training_loss,
        "peak_gib": peak_gib(),
    }


def record(runs: dict[str, list[Result]], label: str, run: str, result: Result) -> None:
    """Keep a run's figures and print them at once (stderr): a command cut off keeps them."""
    memory = f", peak memory {result['peak_gib']:.1f} GiB" if result["peak_gib"] else ""
    print(
        f"{run} {label}: {float(result['tokens_per_s'] or 0):,.0f} tokens/s, "
        f"mean loss {result['loss']:.3f}{memory}",
        file=sys.stderr,
        flush=True,
    )
    runs.setdefault(label, []).append(result)


HF_LABELS = {"on": "HF Trainer (torch_compile)", "off": "HF Trainer (defaults, no compile)"}


def variants(cfg_name: str, shared: list[str], ours_sets: list[str]) -> dict[str, TrainConfig]:
    """label → our config per ``--ours`` string; each must train the model HF trains."""
    base = TrainConfig.load(cfg_name, shared)
    out = {}
    for text in ours_sets:
        config = TrainConfig.load(cfg_name, [*shared, *text.split()])
        if ModelArgs.from_config(config) != ModelArgs.from_config(base):
            sys.exit(f"--ours {text!r} changes the model shape: both trainers must train one model")
        out["trainers" + (f" [{text}]" if text.strip() else "")] = config
    return out


def loss_memory(config: TrainConfig, chunk: int) -> dict[str, float]:
    """One forward + backward of the output head and loss alone, at the config's shape.

    Hidden states (batch·block, d_model) and a (vocab, d_model) head, bf16 autocast on CUDA as in
    training. Memory is what the step adds on top of its inputs: CUDA's peak allocation, or on
    CPU the growth of the process's peak RSS (so run each chunk size in a fresh process).
    """
    import resource

    from trainers.objectives import chunked_summed_loss, summed_loss

    device = "cuda" if torch.cuda.is_available() else "cpu"
    torch.manual_seed(0)
    n, width = config.batch_size * config.block_size, config.d_model
    head = torch.nn.Linear(width, config.vocab_size, bias=False, device=device)
    hidden = torch.randn(n, width, device=device, requires_grad=True)
    targets = torch.randint(0, config.vocab_size, (n,), device=device)
    bf16 = torch.autocast("cuda", torch.bfloat16) if device == "cuda" else contextlib.nullcontext()

    def step() -> None:
        with bf16:
            if chunk:
                loss = chunked_summed_loss(hidden, head, targets, chunk)
            else:
                loss = summed_loss(head(hidden), targets)
        loss.backward()
        hidden.grad = head.weight.grad = None

    if device == "cuda":
        step()  # warm-up: cuBLAS handles and workspaces are not the loss's memory
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    before = torch.cuda.memory_allocated() if device == "cuda" else 0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    start = time.perf_counter()
    step()
    if device == "cuda":
        torch.cuda.synchronize()
        added = (torch.cuda.max_memory_allocated() - before) / 2**20
    else:
        added = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss) / 1024
    return {"chunk": chunk, "seconds": time.perf_counter() - start, "added_mib": added}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--configs", nargs="+", default=["tiny.yaml"])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=3, help="runs per trainer; best is kept")
    parser.add_argument("--set", nargs="*", default=[], dest="overrides", help="both trainers")
    parser.add_argument(
        "--ours",
        nargs="+",
        default=[""],
        metavar="'KEY=VALUE ...'",
        help="variants of our trainer (each a space-separated override list; '' = as configured)",
    )
    parser.add_argument(
        "--hf-compile",
        choices=["on", "off", "both"],
        default="both",
        help="HF Trainer with torch_compile=True (on), at its default (off), or both",
    )
    parser.add_argument("--peak-tflops", type=float, default=0.0, help="device peak for MFU")
    parser.add_argument(
        "--loss-memory",
        nargs="+",
        type=int,
        metavar="CHUNK",
        help="instead: memory and time of the output head + loss alone per loss_chunk_tokens "
        "value (0 = one pass), at the first config's shape, each in a fresh process",
    )
    opts = parser.parse_args()
    if opts.loss_memory:
        config = TrainConfig.load(opts.configs[0], opts.overrides)
        if len(opts.loss_memory) == 1:  # the child process: one measurement, one JSON line
            print(json.dumps(loss_memory(config, opts.loss_memory[0])))
            return
        shape = f"{config.batch_size * config.block_size} tokens x d {config.d_model}"
        print(
            f"| loss_chunk_tokens | added memory (MiB) | seconds |  {shape} x V {config.vocab_size}"
        )
        print("|---|---|---|")
        for chunk in opts.loss_memory:
            child = [sys.executable, __file__, "--configs", opts.configs[0]]
            child += ["--set", *opts.overrides, "--loss-memory", str(chunk)]
            out = subprocess.run(child, capture_output=True, text=True, check=True).stdout
            r = json.loads(out.strip().splitlines()[-1])
            print(f"| {chunk or 'off (one pass)'} | {r['added_mib']:,.0f} | {r['seconds']:.2f} |")
        return
    hf_modes = ["on", "off"] if opts.hf_compile == "both" else [opts.hf_compile]
    device = "cuda" if torch.cuda.is_available() else "cpu"
    name = (
        torch.cuda.get_device_name()
        if device == "cuda"
        else f"cpu ({torch.get_num_threads()} threads)"
    )
    print(f"device: {name}; torch {torch.__version__}", file=sys.stderr)
    # Rows print as they are measured (flushed): a run cut short still leaves its figures.
    print(f"| config | trainer | tokens/s | MFU | mean train loss |  device: {name}", flush=True)
    print("|---|---|---|---|---|", flush=True)

    def emit(*cells: str) -> None:
        print("| " + " | ".join(cells) + " |", flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        for cfg_name in opts.configs:
            over = [
                f"max_steps={opts.steps}",
                "eval_interval=0",
                "eval_blocks=1",
                "quiet=true",
                "device=auto",
                "compile=auto",
                f"peak_tflops={opts.peak_tflops}",
                "checkpoint_interval=0",
                *opts.overrides,
            ]
            config = TrainConfig.load(cfg_name, over)
            mine = variants(cfg_name, over, opts.ours)
            per_step = max(c.batch_size * c.grad_accum for c in [config, *mine.values()])
            tokens = opts.steps * per_step * (config.block_size + 1)
            words = int(tokens / config.epochs / 1.2) + 10_000  # the synthetic text: ~1.1 tok/word
            build = synthetic_build(Path(tmp) / "out" / cfg_name, words)
            with torch.device("meta"):
                flops = flops_per_token(build_model(ModelArgs.from_config(config)), config)
            peak = peak_flops(device, config)
            # Alternate the trainers, best of --repeat: shared machines are noisy, the best is the
            # figure least disturbed by other load.
            runs: dict[str, list[Result]] = {}
            for rep in range(opts.repeat):
                where = Path(tmp) / f"runs-{cfg_name}-{rep}"
                for label, variant in mine.items():
                    result = guarded(label, ours, build, variant, where)
                    record(runs, label, f"{cfg_name} run {rep + 1}", result)
                for mode in hf_modes:
                    result = guarded(
                        HF_LABELS[mode], hf_trainer, build, config, where, device, mode == "on"
                    )
                    record(runs, HF_LABELS[mode], f"{cfg_name} run {rep + 1}", result)
            best = {k: max(v, key=lambda r: float(r["tokens_per_s"] or 0)) for k, v in runs.items()}
            for label, r in best.items():
                tps = float(r["tokens_per_s"] or 0)
                mfu = f"{tps * flops / peak:.1%}" if peak else "n/a"
                speed = f"{tps:,.0f}" if tps else "out of memory"
                emit(cfg_name, label, speed, mfu if tps else "", f"{r['loss']:.3f}")
            for label in mine:
                ours_tps = float(best[label]["tokens_per_s"] or 0)
                suffix = label.removeprefix("trainers")
                for mode in hf_modes:
                    hf_tps = float(best[HF_LABELS[mode]]["tokens_per_s"] or 0)
                    ratio = f"{ours_tps / hf_tps:.2f}x" if ours_tps and hf_tps else "n/a"
                    versus = "HF torch_compile" if mode == "on" else "HF defaults"
                    emit(cfg_name, f"ratio{suffix} / {versus}", ratio, "", "")
            fastest = max(float(best[label]["tokens_per_s"] or 0) for label in mine) or float("nan")
            minutes = 10 * 10e6 * TOKENS_PER_WORD_BABYLM / fastest / 60
            emit(cfg_name, "strict-small 10 ep (fastest trainers)", f"≈{minutes:,.1f} min", "", "")


if __name__ == "__main__":
    main()
