"""Running the ``llm`` generator over one block: plan requests, run the engine, collect documents.

Outcomes arrive in the planned order (seed order, then variant, then sample), so which documents
fill a word quota is decided by the input and the cache, never by which answer came back first.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from corpuskit.document import Document, block_to_docs, docs_to_block
from corpuskit.generators.backends import Backend, ChatRequest, OpenAIBackend, TransformersBackend
from corpuskit.generators.base import synthetic_meta
from corpuskit.generators.cache import Caps, GenerationCache, cache_key
from corpuskit.generators.engine import EngineConfig, Outcome, WorkItem, run_items_sync
from corpuskit.generators.parsing import ParseError, parse_reply, validate_outputs
from corpuskit.generators.prompts import Template, TemplateError
from corpuskit.generators.quota import partition_quota, rate_share
from corpuskit.step import RunContext
from corpuskit.words import count_words

if TYPE_CHECKING:
    from corpuskit.generators.llm import LLMGenerator

CACHE_FILE = "generators.sqlite"


def run_key(ctx: RunContext) -> str:
    """Identity of this build run, shared by all its workers (caps are per run).

    A build names its run (``ctx.run_id``, the same in every executor's workers). Outside a build,
    the run is this process, or the parent of a forked worker; the process start time guards
    against a reused pid.
    """
    if ctx.run_id:
        return ctx.run_id
    parent = multiprocessing.parent_process()
    pid = parent.pid if parent is not None and parent.pid is not None else os.getpid()
    try:
        started = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        started = "?"
    return f"{pid}:{started}"


def open_cache(gen: LLMGenerator, ctx: RunContext) -> GenerationCache:
    if gen.cache_path is not None:
        return GenerationCache(Path(gen.cache_path).expanduser())
    if gen.cache and ctx.cache_dir is not None:
        return GenerationCache(Path(ctx.cache_dir) / CACHE_FILE)
    return GenerationCache(None)


def render_messages(
    gen: LLMGenerator,
    doc: Document,
    variant: dict[str, Any],
    templates: tuple[Template | None, Template],
) -> list[dict[str, str]]:
    system, user = templates
    values = {
        **gen.base_vars(),
        **variant,
        "text": doc.text,
        "id": doc.id,
        "source": doc.source,
        "meta": dict(doc.meta),
        "words": count_words(doc.text),
    }
    messages = []
    if system is not None:
        messages.append({"role": "system", "content": system.render(values)})
    messages.append({"role": "user", "content": user.render(values)})
    return messages


class Collector:
    """Admits outcomes in order: parse, validate, apply the quota, remember failures per seed."""

    def __init__(
        self,
        gen: LLMGenerator,
        seeds: list[Document],
        label: str,
        cache: GenerationCache,
        fingerprint: str,
        ctx: RunContext,
        tags: dict[tuple[int, int], str | None],
    ):
        self.gen, self.seeds, self.label, self.cache = gen, seeds, label, cache
        self.fingerprint, self.ctx, self.tags = fingerprint, ctx, tags
        self.quota = partition_quota(gen, ctx, label)
        self.mode, self.schema, self.output = gen.parse_config()
        self.identity = {
            "step": label,
            "kind": gen.kind,
            "backend": gen.backend,
            "model": gen.model,
            **gen.prompt_identity(),
            "params": gen.sampling_params(),
            **({"render": gen.render} if gen.render != "output" else {}),
        }
        self.made: list[Document] = []
        self.rejected: list[tuple[Document, str]] = []
        self.yielded: Counter[int] = Counter()
        self.failed: dict[int, str] = {}
        self.seen: dict[int, set[str]] = {}
        self.admitted = 0
        self.attempted: set[int] = set()

    def fail(self, seed_index: int, key: str, reason: str, detail: str = "") -> None:
        self.ctx.count(self.label, f"failures.{reason}")
        self.failed.setdefault(seed_index, reason)
        self.cache.log_failure(key, self.fingerprint, self.seeds[seed_index].id, reason, detail)

    def admit(self, outcome: Outcome) -> bool:
        self.admitted += 1
        item = outcome.item
        self.attempted.add(item.seed_index)
        if outcome.failure is not None:
            self.fail(item.seed_index, item.key, outcome.failure, outcome.detail)
            return True
        completion = outcome.completion
        assert completion is not None
        if completion.finish_reason == "length" and not self.gen.accept_truncated:
            self.fail(item.seed_index, item.key, "truncated", completion.text[:200])
            return True
        try:
            texts = parse_reply(
                completion.text, self.mode, json_schema=self.schema, output_template=self.output
            )
        except ParseError as exc:
            self.fail(item.seed_index, item.key, exc.reason, exc.detail or completion.text[:200])
            return True
        except TemplateError as exc:
            self.fail(item.seed_index, item.key, "schema_mismatch", str(exc))
            return True
        seed = self.seeds[item.seed_index]
        verdicts = validate_outputs(
            texts,
            seed.text,
            min_words=self.gen.min_output_words,
            max_words=self.gen.max_output_words,
            drop_copies=self.gen.drop_copies,
            seen=self.seen.setdefault(item.seed_index, set()),
        )
        provenance = {**self.identity, "seed": item.request.seed, "sample": item.sample}
        tag = self.tags.get((item.seed_index, item.variant))
        if tag is not None:
            provenance["variant"] = tag
        for j, (text, reason) in enumerate(verdicts):
            doc_id = f"{seed.id}~{self.label}:{item.variant}:{item.sample}:{j}"
            rendered = f"{seed.text} {text}" if self.gen.render == "pair" else text
            doc = Document(doc_id, rendered, seed.source, synthetic_meta(seed, provenance))
            if reason is not None:
                self.rejected.append((doc, reason))
                continue
            if not self.quota.admit(rendered):
                if self.yielded[item.seed_index] == 0:
                    self.attempted.discard(item.seed_index)  # cut by the quota, not invalid
                return False
            self.made.append(doc)
            self.yielded[item.seed_index] += 1
        return True


def plan(
    gen: LLMGenerator,
    seeds: list[Document],
    ctx: RunContext,
    label: str,
    collector_tags: dict[tuple[int, int], str | None],
) -> tuple[list[WorkItem], list[tuple[int, str]]]:
    """Work items in canonical order, and (seed index, detail) for prompts that did not render."""
    params = gen.sampling_params()
    templates = gen.templates()
    items: list[WorkItem] = []
    broken: list[tuple[int, str]] = []
    for s, doc in enumerate(seeds):
        for v, (variant, tag) in enumerate(gen_variants(gen, doc, ctx, label)):
            collector_tags[(s, v)] = tag
            try:
                messages = render_messages(gen, doc, variant, templates)
            except TemplateError as exc:
                broken.append((s, str(exc)))
                continue
            for sample in range(gen.n):
                seed_value = (ctx.seed if gen.seed is None else gen.seed) + sample
                key = cache_key(gen.backend, gen.model, messages, params, seed_value, sample)
                request = ChatRequest(gen.model, messages, params, seed_value)
                items.append(WorkItem(s, key, request, sample, v))
    return items, broken


def gen_variants(
    gen: LLMGenerator, doc: Document, ctx: RunContext, label: str
) -> list[tuple[dict[str, Any], str | None]]:
    out = []
    for variant in gen.variants(doc, ctx, label):
        tag = variant.pop("_tag", None) if isinstance(variant, dict) else None
        out.append((variant, tag))
    return out


def run_llm_generator(gen: LLMGenerator, block: pa.Table, ctx: RunContext, label: str) -> pa.Table:
    """The ``llm`` generator's ``process``: every seed of the block, requests run concurrently."""
    mask = gen.applies_mask(block)
    seeds = list(block_to_docs(block if mask is None else block.filter(mask)))
    api_key = gen.api_key()
    identity = gen.prompt_identity()
    fingerprint = hashlib.sha256(
        f"{label}\x00{gen.backend}\x00{gen.model}\x00{identity['prompt_hash']}".encode()
    ).hexdigest()[:16]
    tags: dict[tuple[int, int], str | None] = {}
    items, broken = plan(gen, seeds, ctx, label, tags)
    with open_cache(gen, ctx) as cache:
        collector = Collector(gen, seeds, label, cache, fingerprint, ctx, tags)
        for seed_index, detail in broken:
            collector.fail(seed_index, "", "template_error", detail)
        cfg = EngineConfig(
            concurrency=gen.concurrency,
            rpm=rate_share(gen.rpm, gen, ctx),
            tpm=rate_share(gen.tpm, gen, ctx),
            max_retries=gen.max_retries,
            backoff_base_s=gen.backoff_base_s,
            backoff_max_s=gen.backoff_max_s,
            caps=Caps(gen.max_requests, gen.max_total_tokens, gen.max_cost_usd),
            prompt_price=gen.prompt_price_per_1m,
            completion_price=gen.completion_price_per_1m,
            run=run_key(ctx),
            fingerprint=fingerprint,
        )
        stats: Counter[str] = Counter()
        cost = 0.0
        if items and not collector.quota.full:  # a full quota (earlier block) asks nothing
            stats, cost = run_items_sync(
                items,
                lambda: make_backend(gen, ctx, api_key),
                cache,
                cfg,
                collector.admit,
                ctx.rng(label),
            )
    for name in ("requests", "retries", "prompt_tokens", "completion_tokens", "cache_hits"):
        ctx.count(label, name, stats[name])
    ctx.count(label, "cost_usd_micro", round(cost * 1e6))
    ctx.count(label, "skipped_requests", len(items) - collector.admitted)
    record_rejects(gen, ctx, label, collector, seeds)
    return gen.finish(block, mask, collector.made, collector.quota, ctx, label)


def record_rejects(
    gen: LLMGenerator, ctx: RunContext, label: str, collector: Collector, seeds: list[Document]
) -> None:
    """Rejected outputs, and seeds that yielded nothing (counted; rejected if not kept)."""
    if collector.rejected:
        ctx.reject(
            docs_to_block(doc for doc, _ in collector.rejected),
            step=label,
            reasons=[reason for _, reason in collector.rejected],
        )
    empty = [i for i in range(len(seeds)) if collector.yielded[i] == 0]
    failed = [i for i in empty if i in collector.failed]
    ctx.count(label, "seeds_failed", len(failed))
    if not gen.keep_seeds and empty:
        reasons = [
            "generation_failed"
            if i in collector.failed
            else "no_valid_output"
            if i in collector.attempted
            else "quota_reached"
            if collector.quota.full
            else "no_valid_output"
            for i in empty
        ]
        ctx.reject(docs_to_block(seeds[i] for i in empty), step=label, reasons=reasons)


def make_backend(gen: LLMGenerator, ctx: RunContext, api_key: str | None) -> Backend:
    if gen.backend == "openai":
        return OpenAIBackend(gen.base_url, api_key, gen.timeout_s)
    return TransformersBackend(gen.local_model_path(ctx), gen.gguf_file)
