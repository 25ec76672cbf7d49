"""Hugging Face classes for the encoders, so an export loads with ``transformers`` Auto classes.

``export`` copies this file, ``ltgbert.py`` and ``layers.py`` next to the weights and names these
classes in ``config.json``'s ``auto_map``. ``transformers`` then loads the model with
``trust_remote_code=True`` and no ``trainers`` installed (as LTG-BERT and GPT-BERT are shared on
the Hugging Face Hub). So this file imports only torch, transformers and its two siblings, and the
siblings import only torch and each other.

- ``ltgbert`` → ``AutoModelForMaskedLM``: ``logits[:, i]`` predicts the token at ``i``.
- ``gptbert`` → ``AutoModelForCausalLM``: causal attention, ``logits[:, i]`` predicts token
  ``i + 1`` (the usual HF causal convention, so lm-eval and minicons read it as they read GPT-2);
  and ``AutoModelForMaskedLM``: bidirectional attention with the logits moved one position right,
  so ``logits[:, i]`` predicts the (masked) token at ``i`` as a BERT's do. Position 0 holds
  ``<s>``, which is never scored; its hidden state stays in place (its logits equal position 1's).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812  (torch house style)
from transformers import GenerationMixin, PretrainedConfig, PreTrainedModel
from transformers import __version__ as transformers_version
from transformers.modeling_outputs import CausalLMOutput, MaskedLMOutput

from .layers import ModelArgs, init_weights
from .ltgbert import GPTBERT, LTGBERT, Encoder

BASE_PREFIX = "model"  # the encoder's weights are saved as model.*
SOURCE_FILES = ("hf_encoder.py", "ltgbert.py", "layers.py")  # what an export must carry
# transformers 5 maps each tied parameter to its source; 4.x lists the tied outputs only.
_TIED = {f"{BASE_PREFIX}.lm_head.weight": f"{BASE_PREFIX}.embed_tokens.weight"}
TIED_WEIGHTS: Any = _TIED if int(transformers_version.split(".")[0]) >= 5 else list(_TIED)


class CorpuskitEncoderConfig(PretrainedConfig):
    """The fields of ``trainers.models.ModelArgs``, under the names transformers also looks for."""

    model_type = "corpuskit-encoder"
    attribute_map = {  # noqa: RUF012  (transformers reads it from the class)
        "hidden_size": "d_model",
        "num_hidden_layers": "n_layer",
        "num_attention_heads": "n_head",
        "intermediate_size": "d_ff",
        "max_position_embeddings": "block_size",
    }

    def __init__(
        self,
        arch: str = "ltgbert",
        vocab_size: int = 16_384,
        n_layer: int = 2,
        n_head: int = 2,
        d_model: int = 64,
        d_ff: int = 128,
        block_size: int = 128,
        dropout: float = 0.0,
        rel_positions: int = 32,
        tie_embeddings: bool = True,
        rel_buckets: str = "clip",
        **kwargs: Any,
    ):
        self.arch, self.vocab_size, self.n_layer, self.n_head = arch, vocab_size, n_layer, n_head
        self.d_model, self.d_ff, self.block_size = d_model, d_ff, block_size
        self.dropout, self.rel_positions, self.rel_buckets = dropout, rel_positions, rel_buckets
        kwargs.setdefault("pad_token_id", 0)
        kwargs.setdefault("bos_token_id", 2)
        kwargs.setdefault("eos_token_id", 3)
        # A saved config.json spells it the transformers way; a fresh one comes from ModelArgs.
        kwargs.setdefault("tie_word_embeddings", tie_embeddings)
        super().__init__(**kwargs)

    def model_args(self) -> ModelArgs:
        # Every ModelArgs field is an attribute of the same name here but two: RoPE's base (gpt
        # only, never an encoder's) and the tied head, which transformers names its own way.
        names = {f.name for f in dataclasses.fields(ModelArgs)} - {"rope_theta", "tie_embeddings"}
        shape = {name: getattr(self, name) for name in names}
        return ModelArgs(**shape, tie_embeddings=self.tie_word_embeddings)


# One config class per arch: transformers maps each config class to one model class per Auto
# class, so a shared config class would load whichever arch came first in the process. Each
# defines __init__: transformers 5 turns a config subclass without one into a dataclass whose
# generated __init__ would skip ours.
class LTGBERTConfig(CorpuskitEncoderConfig):
    model_type = "corpuskit-ltgbert"

    def __init__(self, **kwargs: Any):
        super().__init__(**{"arch": "ltgbert", **kwargs})


class GPTBERTConfig(CorpuskitEncoderConfig):
    model_type = "corpuskit-gptbert"

    def __init__(self, **kwargs: Any):
        super().__init__(**{"arch": "gptbert", **kwargs})


class CorpuskitEncoderPreTrainedModel(PreTrainedModel):
    """Holds the trainer's module as ``self.model`` (weights ``model.*``)."""

    base_model_prefix = BASE_PREFIX
    _tied_weights_keys = TIED_WEIGHTS
    encoder_class: type[Encoder]  # each Auto class's module
    model: Encoder

    def __init__(self, config: CorpuskitEncoderConfig):
        super().__init__(config)
        self.model = self.encoder_class(config.model_args())
        self.post_init()

    def _init_weights(self, module: torch.nn.Module) -> None:
        # A fresh model from a config gets the trainer's initialisation; a loaded one its weights.
        if isinstance(module, Encoder):
            init_weights(module, module.args.n_layer)
            torch.nn.init.zeros_(module.lm_head.bias)

    def get_input_embeddings(self) -> torch.nn.Module:
        return self.model.embed_tokens

    def get_output_embeddings(self) -> torch.nn.Module:
        return self.model.lm_head


def _masked_loss(logits: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor | None:
    if labels is None:
        return None
    return F.cross_entropy(logits.flatten(0, 1).float(), labels.flatten(), ignore_index=-100)


class LTGBERTForMaskedLM(CorpuskitEncoderPreTrainedModel):
    config_class = LTGBERTConfig
    encoder_class = LTGBERT
    model: LTGBERT

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        **_: Any,  # token_type_ids, return_dict, ...: what BERT callers pass and we do not use
    ) -> MaskedLMOutput:
        logits = self.model.lm_head(self.model.features(input_ids, attention_mask))
        return MaskedLMOutput(loss=_masked_loss(logits, labels), logits=logits)


class GPTBERTForMaskedLM(CorpuskitEncoderPreTrainedModel):
    config_class = GPTBERTConfig
    encoder_class = GPTBERT
    model: GPTBERT

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        **_: Any,
    ) -> MaskedLMOutput:
        hidden = self.model.features(input_ids, attention_mask, causal=False)  # [:, i-1] → i
        # Moved before the head, not after, so that logits[:, i] is lm_head(hidden[:, i]) as in
        # any BERT, and a caller may feed the head only the positions it reads. Position 0 keeps
        # its own state (the <s> state, a BERT's [CLS] for callers that pool it; GPT-BERT's own
        # HF code repeats it the same way); its logits are position 1's, and <s> is never scored.
        logits = self.model.lm_head(torch.cat([hidden[:, :1], hidden[:, :-1]], dim=1))
        return MaskedLMOutput(loss=_masked_loss(logits, labels), logits=logits)


class GPTBERTForCausalLM(CorpuskitEncoderPreTrainedModel, GenerationMixin):
    config_class = GPTBERTConfig
    encoder_class = GPTBERT
    model: GPTBERT

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        **_: Any,  # past_key_values, use_cache, position_ids: there is no KV cache
    ) -> CausalLMOutput:
        logits = self.model.lm_head(self.model.features(input_ids, attention_mask, causal=True))
        loss = None
        if labels is not None:  # HF convention: labels are the inputs, shifted here
            loss = _masked_loss(logits[:, :-1], labels[:, 1:])
        return CausalLMOutput(loss=loss, logits=logits)

    def prepare_inputs_for_generation(  # type: ignore[override]
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None, **_: Any
    ) -> dict[str, Any]:
        # No KV cache: every step re-reads the whole sequence (relative positions need no ids).
        return {"input_ids": input_ids, "attention_mask": attention_mask}


# arch → the auto_map its export declares (class names in this file); its first model class
# writes the weights.
AUTO_MAP = {
    "ltgbert": {"AutoConfig": "LTGBERTConfig", "AutoModelForMaskedLM": "LTGBERTForMaskedLM"},
    "gptbert": {
        "AutoConfig": "GPTBERTConfig",
        # First: save_pretrained records it as the architecture, which scorers read as "masked"
        # (the hybrid's default reading, mntp); pass objective="causal" to read it causally.
        "AutoModelForMaskedLM": "GPTBERTForMaskedLM",
        "AutoModelForCausalLM": "GPTBERTForCausalLM",
    },
}
