"""Models: ``gpt`` (causal), ``ltgbert`` (masked), ``gptbert`` (hybrid); build, export, load.

An exported ``model/`` folder holds the HF tokenizer, ``trainers.json`` (arch, objective, shape) and
the weights. ``gpt`` is written as a ``LlamaForCausalLM`` with ``save_pretrained`` (loads with
``transformers.AutoModelForCausalLM``). The encoders are written with ``save_pretrained`` from
the classes in :mod:`trainers.models.hf_encoder`, whose source goes into the folder too, so they
load with ``AutoModelForMaskedLM`` (and ``gptbert`` also ``AutoModelForCausalLM``) given
``trust_remote_code=True``. :func:`load_model` returns the trainer's own module for every arch.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file
from torch import nn
from transformers import PreTrainedTokenizerFast

from trainers.errors import ModelLoadError
from trainers.models import hf_encoder
from trainers.models.gpt import GPT
from trainers.models.layers import ModelArgs
from trainers.models.ltgbert import GPTBERT, LTGBERT
from trainers.tokenizer import BOS, EOS, PAD, load_tokenizer

ARCHS: dict[str, type[nn.Module]] = {"gpt": GPT, "ltgbert": LTGBERT, "gptbert": GPTBERT}
# 2: encoders written by save_pretrained (weights under ``model.``, remote code alongside).
EXPORT_FORMAT = 2
READABLE_FORMATS = (1, 2)


def build_model(args: ModelArgs) -> nn.Module:
    return ARCHS[args.arch](args)


def count_params(model: nn.Module, *, embeddings: bool = True) -> int:
    """Distinct parameters (tied weights once); without the input embedding if asked."""
    seen = {id(p): p for p in model.parameters()}
    total = sum(p.numel() for p in seen.values())
    if not embeddings:
        embed = model.get_submodule("embed_tokens")
        total -= sum(p.numel() for p in embed.parameters())
    return total


def export(model: nn.Module, tokenizer: PreTrainedTokenizerFast, folder: Path) -> None:
    """Write ``model`` + tokenizer to ``folder`` (see the module docstring for the layout)."""
    folder.mkdir(parents=True, exist_ok=True)
    args: ModelArgs = model.args  # type: ignore[assignment]
    meta = {"format": EXPORT_FORMAT, "objective": model.objective, "args": args.to_dict()}
    copy = build_model(args)  # a CPU fp32 copy: the trained module stays where it is
    copy.load_state_dict({k: v.detach().float().cpu() for k, v in model.state_dict().items()})
    model = copy
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # one bar per tiny file is noise in run logs
    if args.arch == "gpt":
        to_llama(model).save_pretrained(folder)
    else:
        _export_encoder(model, folder)
    (folder / "trainers.json").write_text(json.dumps(meta, indent=2) + "\n")
    tokenizer.save_pretrained(folder)
    _readable_by_transformers_4(folder, args)


def _readable_by_transformers_4(folder: Path, args: ModelArgs) -> None:
    """Keep the export loadable where transformers 4.x runs (the BabyLM evaluation pipelines).

    transformers 5 names the tokenizer class ``TokenizersBackend``, which 4.x does not know
    (``PreTrainedTokenizerFast`` is the same class in both), and keeps RoPE's base only inside
    ``rope_parameters``, where 4.x does not look: it would silently use 10,000.
    """
    tok_config = folder / "tokenizer_config.json"
    data = json.loads(tok_config.read_text())
    data["tokenizer_class"] = "PreTrainedTokenizerFast"
    tok_config.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    if args.arch == "gpt":
        config_file = folder / "config.json"
        config = json.loads(config_file.read_text())
        config["rope_theta"] = args.rope_theta
        config_file.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")


def load_model(path: str | Path) -> tuple[nn.Module, PreTrainedTokenizerFast]:
    """Load an exported ``model/`` folder: (module in eval mode, fp32, CPU; tokenizer)."""
    folder = Path(path)
    meta_path = folder / "trainers.json"
    if not meta_path.is_file():
        raise ModelLoadError(f"{folder} is not an exported trainers model (no trainers.json)")
    meta = json.loads(meta_path.read_text())
    if meta.get("format") not in READABLE_FORMATS:
        raise ModelLoadError(
            f"{meta_path}: export format {meta.get('format')} is not one of {READABLE_FORMATS}",
            hint="re-export the run with this version of trainers",
        )
    args = ModelArgs(**meta["args"])
    model = build_model(args)
    if args.arch == "gpt":
        state = from_llama_state(load_file(str(folder / "model.safetensors")), args)
        model.load_state_dict(state)
    else:
        # Format 2 keeps the weights under the HF wrapper's ``model.``; format 1 did not.
        saved = load_file(str(folder / "model.safetensors"))
        state = {k.removeprefix(f"{hf_encoder.BASE_PREFIX}."): v for k, v in saved.items()}
        if args.tie_embeddings:
            state["lm_head.weight"] = state["embed_tokens.weight"]
        model.load_state_dict(state)
    return model.eval(), load_tokenizer(folder)


def _export_encoder(model: nn.Module, folder: Path) -> None:
    """``save_pretrained`` of the HF class, with its source files and ``auto_map`` alongside."""
    args: ModelArgs = model.args  # type: ignore[assignment]
    classes = dict(hf_encoder.AUTO_MAP[args.arch])
    config = getattr(hf_encoder, classes.pop("AutoConfig"))(
        **{k: v for k, v in args.to_dict().items() if k != "rope_theta"}
    )
    config.auto_map = {
        "AutoConfig": f"hf_encoder.{type(config).__name__}",
        **{auto: f"hf_encoder.{name}" for auto, name in classes.items()},
    }
    hf = getattr(hf_encoder, next(iter(classes.values())))(config)
    hf.model.load_state_dict(model.state_dict())
    hf.save_pretrained(folder)
    for name in hf_encoder.SOURCE_FILES:
        shutil.copyfile(Path(hf_encoder.__file__).with_name(name), folder / name)


def llama_config(args: ModelArgs) -> Any:
    from transformers import LlamaConfig

    return LlamaConfig(  # type: ignore[call-arg]
        vocab_size=args.vocab_size,
        hidden_size=args.d_model,
        intermediate_size=args.d_ff,
        num_hidden_layers=args.n_layer,
        num_attention_heads=args.n_head,
        num_key_value_heads=args.n_head,
        max_position_embeddings=max(args.block_size, 2048),
        rms_norm_eps=1e-6,
        rope_theta=args.rope_theta,  # transformers 5 maps it into rope_parameters; 4.x reads it
        tie_word_embeddings=args.tie_embeddings,
        bos_token_id=BOS,
        eos_token_id=EOS,
        pad_token_id=PAD,
        attention_bias=False,
        mlp_bias=False,
    )


def to_llama(model: nn.Module) -> Any:
    """A ``LlamaForCausalLM`` holding the weights of our ``GPT`` (``qkv`` split in three)."""
    from transformers import LlamaForCausalLM

    args: ModelArgs = model.args  # type: ignore[assignment]
    state = {}
    for name, tensor in model.state_dict().items():
        if name == "lm_head.weight":
            state[name] = tensor
        elif name.endswith("self_attn.qkv.weight"):
            prefix = "model." + name.removesuffix("qkv.weight")
            for part, chunk in zip("qkv", tensor.chunk(3, dim=0), strict=True):
                state[f"{prefix}{part}_proj.weight"] = chunk.contiguous()
        else:
            state["model." + name] = tensor
    hf = LlamaForCausalLM(llama_config(args))
    hf.load_state_dict(state, strict=True)
    return hf.eval()


def from_llama_state(state: dict[str, torch.Tensor], args: ModelArgs) -> dict[str, torch.Tensor]:
    """Inverse of :func:`to_llama` on a state dict."""
    out = {}
    for name, tensor in state.items():
        key = name.removeprefix("model.")
        if key.endswith("self_attn.q_proj.weight"):
            prefix = key.removesuffix("q_proj.weight")
            parts = [state[f"model.{prefix}{p}_proj.weight"] for p in "qkv"]
            out[f"{prefix}qkv.weight"] = torch.cat(parts, dim=0)
        elif not key.endswith(("self_attn.k_proj.weight", "self_attn.v_proj.weight")):
            out[key] = tensor
    if args.tie_embeddings or "lm_head.weight" not in out:
        out["lm_head.weight"] = out["embed_tokens.weight"]
    return out


__all__ = ["ARCHS", "GPT", "GPTBERT", "LTGBERT", "ModelArgs", "build_model", "export", "load_model"]
