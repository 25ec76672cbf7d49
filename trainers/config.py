"""TrainConfig: one typed config with every default in one block; YAML + ``key=value`` overrides.

The config hash (canonical JSON, sha256, 12 hex) names the run directory, so two runs that differ
only in the data land next to each other. Bookkeeping fields that cannot change the trained weights
(logging, checkpoint cadence, MFU peak) are left out of the hash.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from trainers.errors import TrainConfigError
from trainers.keys import keyed_fields, short_key

CONFIG_DIR = Path(__file__).parent / "configs"
HASH_EXCLUDED = frozenset(
    {"log_interval", "checkpoint_interval", "keep_checkpoints", "peak_tflops", "quiet"}
)
# Fields added after runs were published, hashed only when set: at their default they leave the
# hash (and so every existing run directory and leaderboard key) as it was before they existed.
HASHED_WHEN_SET = {"loss_chunk_tokens": 0, "rel_buckets": "clip"}
# torch.compile modes beyond plain `on` (opt-in); the first two capture CUDA graphs.
COMPILE_MODES = ("reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")
CUDA_GRAPH_MODES = frozenset(COMPILE_MODES[:2])


class TrainConfig(BaseModel):
    """Everything a training run depends on besides the data (see docs/training.md)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # ---- every default, in one block --------------------------------------------------------
    # model
    arch: Literal["gpt", "ltgbert", "gptbert"] = Field(
        "gpt", description="causal / masked / hybrid"
    )
    n_layer: int = Field(2, ge=1, description="transformer blocks")
    n_head: int = Field(4, ge=1, description="attention heads")
    d_model: int = Field(64, ge=8, description="hidden size (divisible by n_head)")
    d_ff: int = Field(0, ge=0, description="FFN inner size; 0 = 8/3·d_model rounded to 64")
    dropout: float = Field(0.0, ge=0, lt=1, description="dropout on residual branches")
    rope_theta: float = Field(10_000.0, gt=0, description="RoPE base (gpt)")
    rel_positions: int = Field(32, ge=1, description="clipped relative distance (ltgbert, gptbert)")
    rel_buckets: Literal["clip", "log"] = Field(
        "clip",
        description="relative distances past rel_positions: clip to it, or log buckets up to "
        "block_size as LTG-BERT/DeBERTa (exact within (rel_positions+1)//2; rel_positions=31 "
        "gives LTG-BERT's 63 buckets)",
    )
    tie_embeddings: bool = Field(True, description="share input embedding and output head")
    # tokenizer (BPE for gpt/gptbert, WordPiece for ltgbert unless set)
    vocab_size: int = Field(8192, ge=64, description="tokenizer vocabulary = embedding rows")
    tokenizer: Literal["auto", "bpe", "wordpiece"] = Field("auto", description="tokenizer model")
    # data
    block_size: int = Field(128, ge=4, description="tokens per training sequence")
    doc_boundary: Literal["loss_mask", "attention"] = Field(
        "loss_mask",
        description="loss_mask: attend across documents but never predict across a boundary; "
        "attention: each token attends only within its document, positions restart per document",
    )
    curriculum: Literal["stage_major", "epoch_major"] = Field(
        "stage_major",
        description="stage_major: all epochs of stage 1, then stage 2...; epoch_major: every "
        "epoch walks the stages in order",
    )
    val_fraction: float = Field(0.01, ge=0, lt=0.5, description="held-out documents (by id hash)")
    # objectives
    mask_rate: float = Field(0.15, gt=0, lt=1, description="masked tokens (ltgbert, gptbert)")
    mask_span: int = Field(3, ge=1, description="masked spans are 1..mask_span tokens long")
    causal_fraction: float = Field(
        0.0625, ge=0, le=1, description="gptbert: share of sequences trained causally (1:15)"
    )
    # optimisation
    seed: int = Field(0, description="seeds init, data order and masking")
    epochs: int = Field(10, ge=1, le=10, description="passes over the data (BabyLM cap: 10)")
    max_steps: int = Field(0, ge=0, description="optimizer steps; 0 = as many as `epochs` give")
    batch_size: int = Field(8, ge=1, description="sequences per micro-batch")
    grad_accum: int = Field(1, ge=1, description="micro-batches per optimizer step")
    optimizer: Literal["adamw", "lamb"] = Field("adamw", description="optimizer")
    lr: float = Field(3e-3, gt=0, description="peak learning rate")
    min_lr_ratio: float = Field(0.1, ge=0, le=1, description="final lr = lr · min_lr_ratio")
    schedule: Literal["cosine", "wsd"] = Field("cosine", description="after warmup: cosine or WSD")
    warmup_steps: int = Field(3, ge=0, description="linear warmup steps")
    decay_fraction: float = Field(0.2, gt=0, le=1, description="wsd: share of steps decaying")
    weight_decay: float = Field(0.1, ge=0, description="decoupled weight decay on matrices")
    beta1: float = Field(0.9, ge=0, lt=1, description="Adam/LAMB beta1")
    beta2: float = Field(0.98, ge=0, lt=1, description="Adam/LAMB beta2")
    grad_clip: float = Field(1.0, ge=0, description="global grad-norm clip; 0 = off")
    # system
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="auto = cuda if available")
    precision: Literal["auto", "fp32", "bf16"] = Field("auto", description="auto = bf16 on cuda")
    compile: Literal[
        "auto", "on", "off", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs"
    ] = Field(
        "auto",
        description="torch.compile; auto = on for cuda; the torch.compile modes (static shapes; "
        "reduce-overhead and max-autotune capture CUDA graphs and need grad_accum=1) are opt-in",
    )
    loss_chunk_tokens: int = Field(
        0,
        ge=0,
        description="compute the output head + cross-entropy this many tokens at a time, "
        "recomputing each chunk in backward, so the (batch·block, vocab) logits are never all "
        "held; 0 = off (one pass)",
    )
    eval_interval: int = Field(
        10, ge=0, description="steps between validation losses; 0 = end only"
    )
    eval_blocks: int = Field(16, ge=1, description="held-out sequences per validation")
    # bookkeeping (not hashed)
    log_interval: int = Field(1, ge=1, description="steps between log lines")
    checkpoint_interval: int = Field(0, ge=0, description="steps between checkpoints; 0 = end only")
    keep_checkpoints: int = Field(2, ge=1, description="newest checkpoints kept")
    peak_tflops: float = Field(0.0, ge=0, description="device peak for MFU; 0 = known GPU table")
    quiet: bool = Field(False, description="no log lines on stderr")
    # ------------------------------------------------------------------------------------------

    @field_validator("compile", mode="before")
    @classmethod
    def _yaml_on_off(cls, value: Any) -> Any:
        # YAML 1.1 reads a bare `on`/`off` as a boolean; accept it as the word it was.
        return {True: "on", False: "off"}.get(value, value) if isinstance(value, bool) else value

    @property
    def hash(self) -> str:
        """12 hex of sha256 over the canonical JSON of the hashed fields."""
        return short_key(keyed_fields(self.model_dump(mode="json"), HASH_EXCLUDED, HASHED_WHEN_SET))

    @property
    def ffn_size(self) -> int:
        return self.d_ff or 64 * max(1, round(self.d_model * 8 / 3 / 64))

    @property
    def tokenizer_kind(self) -> str:
        if self.tokenizer != "auto":
            return self.tokenizer
        return "wordpiece" if self.arch == "ltgbert" else "bpe"

    @property
    def objective(self) -> str:
        return {"gpt": "causal", "ltgbert": "masked", "gptbert": "hybrid"}[self.arch]

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False)

    @classmethod
    def load(
        cls, path: str | Path | None = None, overrides: list[str] | None = None
    ) -> TrainConfig:
        """Read a YAML config (None: all defaults), apply ``key=value`` overrides, validate."""
        data: dict[str, Any] = {}
        source = "<defaults>"
        if path is not None:
            data, source = _read_yaml(Path(path))
        where = dict.fromkeys(data, source)
        for item in overrides or []:
            key, value = _parse_override(item, cls)
            data[key] = value
            where[key] = f"--set {key}"
        return _validate(cls, data, where)


def _read_yaml(path: Path) -> tuple[dict[str, Any], str]:
    if not path.is_file() and (CONFIG_DIR / path).is_file():
        path = CONFIG_DIR / path  # `--config tiny.yaml` finds the packaged configs
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise TrainConfigError(
            f"cannot read config {str(path)!r}: {exc.strerror}",
            hint="packaged: " + ", ".join(p.name for p in sorted(CONFIG_DIR.glob("*.yaml"))),
        ) from None
    except yaml.YAMLError as exc:
        raise TrainConfigError(f"{path}: invalid YAML ({exc})") from None
    if not isinstance(data, dict):
        raise TrainConfigError(f"{path}: a config must be a mapping of fields")
    return data, str(path)


def _parse_override(item: str, cls: type[TrainConfig]) -> tuple[str, Any]:
    text = item.removeprefix("--")
    key, sep, raw = text.partition("=")
    if not sep or not key:
        raise TrainConfigError(
            f"override {item!r} is not key=value", hint="write e.g. --set lr=3e-4"
        )
    key = key.strip().replace("-", "_")
    field = cls.model_fields.get(key)
    if field is not None and (field.annotation is str or get_origin(field.annotation) is Literal):
        return key, raw.strip()  # text fields stay text: `compile=on` is not YAML's True
    # YAML reads 3, 3.0, true as int, float, bool; pydantic then checks the type.
    return key, yaml.safe_load(raw) if raw.strip() else ""


def _validate(cls: type[TrainConfig], data: dict[str, Any], where: dict[str, str]) -> TrainConfig:
    known = list(cls.model_fields)
    for key in data:
        if key not in known:
            near = difflib.get_close_matches(key, known, n=1)
            hint = f"did you mean {near[0]}?" if near else "see docs/training.md for the fields"
            raise TrainConfigError(f"unknown config key {key!r}", hint=hint, location=where[key])
    try:
        config = cls.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = str(err["loc"][0]) if err["loc"] else ""
        field = cls.model_fields.get(key)
        expected = field.annotation if field is not None else "?"
        raise TrainConfigError(
            f"{err['msg']} (got {err.get('input')!r})" if key in where else f"{key}: {err['msg']}",
            hint=_near_value(expected, err.get("input"))
            + f"{key} takes {_type_name(expected)}: {field.description if field else ''}",
            location=where.get(key),
        ) from None
    if config.compile in CUDA_GRAPH_MODES and config.grad_accum > 1:
        # CUDA graph trees replay the backward into the buffers the previous micro-batch's
        # gradients were stolen from (pytorch/pytorch#169545): accumulation would be wrong.
        raise TrainConfigError(
            f"compile={config.compile} captures CUDA graphs, which cannot accumulate gradients "
            f"(grad_accum={config.grad_accum})",
            hint="set grad_accum=1 (loss_chunk_tokens frees memory for a bigger batch_size), "
            "or use compile=max-autotune-no-cudagraphs",
            location=where.get("compile") or where.get("grad_accum"),
        )
    if config.d_model % config.n_head or (config.d_model // config.n_head) % 2:
        raise TrainConfigError(
            f"d_model={config.d_model} does not split into {config.n_head} heads of even size",
            hint="choose d_model divisible by 2·n_head",
        )
    return config


def _near_value(annotation: Any, value: Any) -> str:
    """``did you mean X? `` for a misspelt choice (max_autotune → max-autotune), else ``""``."""
    if get_origin(annotation) is not Literal or not isinstance(value, str):
        return ""
    near = difflib.get_close_matches(value, [str(a) for a in get_args(annotation)], 1, 0.8)
    return f"did you mean {near[0]}? " if near else ""


def _type_name(annotation: Any) -> str:
    if get_origin(annotation) is Literal:
        return "one of " + "/".join(str(a) for a in get_args(annotation))
    return getattr(annotation, "__name__", None) or str(annotation).replace("typing.", "")
