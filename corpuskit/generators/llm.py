"""The ``llm`` generator: prompts filled from each seed document, sent to a chat model, parsed.

Backends: any OpenAI-compatible endpoint (``openai``) or a local causal LM (``transformers``).
Requests run concurrently (asyncio, inside ``process``) with rate limits, retries and hard caps;
every answer is cached in ``<out>/.cache/generators.sqlite`` so a rebuild or a resumed build asks
only for what is missing. ``corpuskit ls generators`` lists the recipe fields.

Failure reasons (``failures.<reason>`` counters): rate_limited, server_error, timeout,
connection_error, malformed_response, empty_choices, auth_error, bad_request, cap_reached,
truncated, empty_reply, bad_json, schema_mismatch, template_error. Output reject reasons (rejects
shard): too_short, too_long, copy_of_seed, duplicate_output, and, for seeds removed with
``keep_seeds: false``, generation_failed, quota_reached and no_valid_output; generator_quota for
outputs trimmed to ``max_words`` when the build assembles (:mod:`corpuskit.generators.quota`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar, Literal

import pyarrow as pa
from pydantic import Field

from corpuskit.document import Document
from corpuskit.errors import CorpuskitError, MissingDependencyError
from corpuskit.generators.base import Generator
from corpuskit.generators.prompts import (
    DOC_FIELDS,
    ParseMode,
    PromptSet,
    Template,
    TemplateFormat,
    check_fields,
    compile_template,
    get_prompt_set,
    prompt_hash,
)
from corpuskit.step import CheckContext, RunContext


class MissingApiKeyError(CorpuskitError):
    """The environment variable that should hold the API key is not set."""

    code = "missing_api_key"


class LLMGenerator(Generator, kind="llm"):
    """Generate text with a chat model from prompt templates filled from each seed document.

    Templates see the seed's ``text``, ``id``, ``source``, ``meta``, ``words`` and the ``vars``.
    """

    drop_reasons: ClassVar[tuple[str, ...]] = (
        "too_short",
        "too_long",
        "copy_of_seed",
        "duplicate_output",
        "generation_failed",
        "quota_reached",
        "no_valid_output",
        "generator_quota",
    )
    extra_fields: ClassVar[tuple[str, ...]] = ()

    backend: Literal["openai", "transformers"] = Field(
        default="openai", description="openai: an OpenAI-compatible endpoint; transformers: local"
    )
    model: str = Field(description="model name at the endpoint, or a local model directory")
    base_url: str | None = Field(
        default=None, description="endpoint base URL, e.g. http://127.0.0.1:8000/v1 (None: OpenAI)"
    )
    api_key_env: str | None = Field(
        default="OPENAI_API_KEY",
        description="environment variable holding the API key (never written anywhere); "
        "null for endpoints without authentication",
    )
    gguf_file: str | None = Field(
        default=None, description="GGUF file inside the model directory (transformers backend)"
    )
    prompt: str | None = Field(
        default=None,
        description="built-in prompt set: paraphrase, grammar_examples, grammar_book, qa",
    )
    system: str | None = Field(default=None, description="system prompt template (overrides)")
    user: str | None = Field(default=None, description="user prompt template (overrides)")
    template_format: TemplateFormat = Field(
        default="jinja", description="jinja ({{ text }}) or format ({text}) templates"
    )
    vars: dict[str, Any] = Field(
        default_factory=dict, description="extra template variables (e.g. k: 3)"
    )
    parse: ParseMode | None = Field(
        default=None, description="text, lines or json (default: the prompt set's, else text)"
    )
    json_schema: dict[str, Any] | None = Field(
        default=None, description="JSON Schema a json reply must satisfy"
    )
    output_template: str | None = Field(
        default=None, description="Jinja template turning each JSON object into text"
    )
    temperature: float = Field(default=0.7, ge=0, le=2, description="sampling temperature")
    top_p: float = Field(default=1.0, gt=0, le=1, description="nucleus sampling mass")
    max_tokens: int = Field(default=256, gt=0, description="completion tokens per request")
    seed: int | None = Field(
        default=None,
        description="request seed (None: the recipe seed); sample i is sent with seed + i",
    )
    n: int = Field(default=1, ge=1, description="samples (separate requests) per prompt")
    render: Literal["output", "pair"] = Field(
        default="output",
        description="output: each parsed output is a document; pair: '<seed text> <output>' "
        "(seed, one space, output; e.g. sentence-paraphrase pairs), counted as a whole "
        "against max_words",
    )
    min_output_words: int = Field(default=1, ge=0, description="reject shorter outputs")
    max_output_words: int | None = Field(default=None, description="reject longer outputs")
    drop_copies: bool = Field(
        default=True, description="reject outputs equal to the seed or to an earlier output"
    )
    accept_truncated: bool = Field(
        default=False, description="keep replies cut off by max_tokens (else failure 'truncated')"
    )
    concurrency: int = Field(
        default=8, ge=1, description="requests in flight at once in each worker process"
    )
    rpm: int | None = Field(
        default=None,
        gt=0,
        description="requests per minute for the whole build (each of the W workers running at "
        "once gets rpm / W)",
    )
    tpm: int | None = Field(
        default=None,
        gt=0,
        description="tokens per minute for the whole build (each of the W workers running at "
        "once gets tpm / W)",
    )
    timeout_s: float = Field(default=60.0, gt=0, description="seconds before a request times out")
    max_retries: int = Field(default=5, ge=0, description="retries on 429/5xx/timeouts")
    backoff_base_s: float = Field(default=0.5, ge=0, description="first backoff delay")
    backoff_max_s: float = Field(default=30.0, ge=0, description="longest backoff delay")
    max_requests: int | None = Field(default=None, ge=0, description="hard cap per build run")
    max_total_tokens: int | None = Field(default=None, ge=0, description="hard cap per build run")
    max_cost_usd: float | None = Field(default=None, ge=0, description="hard cap per build run")
    prompt_price_per_1m: float = Field(default=0.0, ge=0, description="USD per 1M prompt tokens")
    completion_price_per_1m: float = Field(
        default=0.0, ge=0, description="USD per 1M completion tokens"
    )
    cache: bool = Field(default=True, description="persist answers and reuse them across builds")
    cache_path: str | None = Field(
        default=None, description="shared cache file (default: <out>/.cache/generators.sqlite)"
    )

    # ----- prompts ------------------------------------------------------------------------
    def prompt_set(self) -> PromptSet | None:
        return get_prompt_set(self.prompt) if self.prompt else None

    def templates(self) -> tuple[Template | None, Template]:
        """(system, user) compiled templates (explicit ones override the prompt set's)."""
        preset = self.prompt_set()
        user = self.user or (preset.user if preset else None)
        system = self.system if self.system is not None else (preset.system if preset else None)
        if user is None:
            raise CorpuskitError("no user prompt", hint="set 'prompt' (a built-in set) or 'user'")
        fmt = self.template_format if (self.user or self.system) else "jinja"
        return (compile_template(system, fmt) if system else None), compile_template(user, fmt)

    def parse_config(self) -> tuple[ParseMode, dict[str, Any] | None, str | None]:
        preset = self.prompt_set()
        mode = self.parse or (preset.parse if preset else "text")
        schema = (
            self.json_schema
            if self.json_schema is not None
            else (preset.json_schema if preset else None)
        )
        output = self.output_template or (preset.output_template if preset else None)
        return mode, schema, output

    def base_vars(self) -> dict[str, Any]:
        preset = self.prompt_set()
        return {**(preset.vars if preset else {}), **self.vars}

    def prompt_identity(self) -> dict[str, Any]:
        """Prompt id, version and hash recorded in every generated document's meta."""
        system, user = self.templates()
        preset = self.prompt_set()
        return {
            "prompt_id": self.prompt or "custom",
            "prompt_version": preset.version if preset else None,
            "prompt_hash": prompt_hash(system.source if system else None, user.source),
        }

    def variants(self, doc: Document, ctx: RunContext, label: str) -> list[dict[str, Any]]:
        """Template variable sets per seed (one prompt each). Default: one, with no extras."""
        return [{}]

    def sampling_params(self) -> dict[str, Any]:
        return {"temperature": self.temperature, "top_p": self.top_p, "max_tokens": self.max_tokens}

    # ----- environment checks -------------------------------------------------------------
    def check(self, ctx: CheckContext) -> None:
        system, user = self.templates()
        available = {*DOC_FIELDS, *self.base_vars(), *self.extra_fields}
        for name, template in (("system", system), ("user", user)):
            if template is not None:
                check_fields(template, available, name)
        mode, _, output = self.parse_config()
        if output:
            compile_template(output)
        if mode == "json":
            _require("jsonschema", "json reply parsing", "gen")
        if self.backend == "openai":
            _require("openai", "the llm generator's openai backend", "gen")
            self.api_key()
        else:
            _require("transformers", "the llm generator's transformers backend", "train")
            self.local_model_path(ctx)

    def api_key(self) -> str | None:
        """The API key from the environment; a missing variable raises ``MissingApiKeyError``."""
        if self.backend != "openai" or self.api_key_env is None:
            return None
        value = os.environ.get(self.api_key_env)
        if not value:
            raise MissingApiKeyError(
                f"environment variable {self.api_key_env} is not set (the llm generator reads its "
                "API key from it)",
                hint=f"export {self.api_key_env}=..., or set api_key_env: null for a server "
                "without authentication",
            )
        return value

    def local_model_path(self, ctx: CheckContext | RunContext) -> str:
        path = Path(self.model).expanduser()
        if not path.is_absolute() and ctx.data_root is not None and not path.exists():
            path = ctx.data_root / path
        if not path.exists():
            raise CorpuskitError(
                f"local model {self.model!r} not found",
                hint="give a save_pretrained directory (absolute, or under the data root)",
            )
        if self.gguf_file and not (path / self.gguf_file).exists():
            raise CorpuskitError(f"GGUF file {self.gguf_file!r} not found in {str(path)!r}")
        return str(path)

    # ----- running ------------------------------------------------------------------------
    def process(self, block: pa.Table, ctx: RunContext, label: str) -> pa.Table:
        from corpuskit.generators.llmrun import run_llm_generator

        return run_llm_generator(self, block, ctx, label)

    def generate(self, doc: Document) -> Iterable[Document]:
        raise CorpuskitError(
            "the llm generator works on whole blocks (process); generate(doc) is not available"
        )


def _require(module: str, what: str, extra: str) -> None:
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise MissingDependencyError(what, extra)
