"""Model backends behind one interface: an OpenAI-compatible HTTP endpoint, or a local causal LM.

A backend answers one chat request (``complete``) or raises ``RequestError`` with a stable reason
and whether retrying can help. Retries, rate limits and caching live in ``engine.py``, so every
backend gets them alike.
"""

from __future__ import annotations

import email.utils
import json
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from corpuskit.generators.cache import Completion

RETRYABLE = (
    "rate_limited",
    "server_error",
    "timeout",
    "connection_error",
    "malformed_response",
    "empty_choices",
)


@dataclass(frozen=True)
class ChatRequest:
    """One request: messages, sampling params (temperature, top_p, max_tokens) and a seed."""

    model: str
    messages: list[dict[str, str]]
    params: dict[str, Any] = field(default_factory=dict)
    seed: int | None = None


class RequestError(Exception):
    """A request that failed; ``reason`` is a stable snake_case noun counted in the manifest."""

    def __init__(self, reason: str, detail: str = "", retry_after: float | None = None):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail
        self.retry_after = retry_after

    @property
    def retryable(self) -> bool:
        return self.reason in RETRYABLE


class Backend(Protocol):
    name: str

    async def complete(self, request: ChatRequest) -> Completion: ...

    async def aclose(self) -> None: ...


def parse_retry_after(headers: Any) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``Retry-After`` (seconds or an HTTP date)."""
    if headers is None:
        return None
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value)
        return max(0.0, parsed.timestamp() - time.time()) if parsed else None


class OpenAIBackend:
    """Any OpenAI-compatible chat-completions endpoint (OpenAI, vLLM, llama.cpp server, Ollama)."""

    name = "openai"

    def __init__(self, base_url: str | None, api_key: str | None, timeout_s: float):
        from openai import AsyncOpenAI

        # max_retries=0: the engine owns retries (with jitter and Retry-After) so that every
        # attempt is counted and capped. A keyless local server still needs a non-empty string.
        self._client = AsyncOpenAI(
            base_url=base_url, api_key=api_key or "no-key", max_retries=0, timeout=timeout_s
        )

    async def aclose(self) -> None:
        await self._client.close()

    async def complete(self, request: ChatRequest) -> Completion:
        import openai

        extra: dict[str, Any] = {} if request.seed is None else {"seed": request.seed}
        try:
            raw = await self._client.chat.completions.with_raw_response.create(
                model=request.model,
                messages=request.messages,  # type: ignore[arg-type]
                n=1,
                **request.params,
                **extra,
            )
        except openai.APITimeoutError as exc:
            raise RequestError("timeout", str(exc)) from None
        except openai.APIConnectionError as exc:
            raise RequestError("connection_error", str(exc)) from None
        except openai.APIStatusError as exc:
            raise _status_failure(exc.status_code, exc.response.headers, exc.message) from None
        return _completion_from_body(raw.http_response.text)


def _status_failure(status: int, headers: Any, message: str) -> RequestError:
    retry_after = parse_retry_after(headers)
    if status == 429:
        return RequestError("rate_limited", message, retry_after)
    if status >= 500 or status in (408, 409):
        return RequestError("server_error", f"HTTP {status}: {message}", retry_after)
    if status in (401, 403):
        # OpenAI echoes part of the key in 401 messages: keep only the status.
        return RequestError("auth_error", f"HTTP {status}")
    return RequestError("bad_request", f"HTTP {status}: {message}")


def _completion_from_body(text: str) -> Completion:
    try:
        body = json.loads(text)
        choices = body["choices"]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise RequestError("malformed_response", f"{type(exc).__name__}: {text[:80]!r}") from None
    if not choices:
        raise RequestError("empty_choices", "the response had no choices")
    choice = choices[0]
    content = (choice.get("message") or {}).get("content")
    if content is None:
        raise RequestError("empty_choices", "the first choice had no message content")
    usage = body.get("usage") or {}
    return Completion(
        text=str(content),
        finish_reason=str(choice.get("finish_reason") or "stop"),
        prompt_tokens=int(usage.get("prompt_tokens") or 0),
        completion_tokens=int(usage.get("completion_tokens") or 0),
    )


_LOCAL_MODELS: dict[tuple[str, str | None], tuple[Any, Any]] = {}


class TransformersBackend:
    """A local causal LM through ``transformers`` (any ``from_pretrained`` path, GGUF included).

    Runs on CPU in the build worker. The model is loaded once per process (workers are forked, so
    loading happens after the fork, never in the parent).
    """

    name = "transformers"

    def __init__(self, path: str, gguf_file: str | None = None):
        self.path = path
        self.gguf_file = gguf_file

    async def aclose(self) -> None:
        return None

    def _load(self) -> tuple[Any, Any]:
        key = (self.path, self.gguf_file)
        if key not in _LOCAL_MODELS:
            from transformers import AutoModelForCausalLM, AutoTokenizer

            kwargs = {"gguf_file": self.gguf_file} if self.gguf_file else {}
            tokenizer = AutoTokenizer.from_pretrained(self.path, **kwargs)
            model = AutoModelForCausalLM.from_pretrained(self.path, **kwargs)
            model.eval()
            _LOCAL_MODELS[key] = (tokenizer, model)
        return _LOCAL_MODELS[key]

    async def complete(self, request: ChatRequest) -> Completion:
        import torch

        tokenizer, model = self._load()
        if getattr(tokenizer, "chat_template", None):
            ids = tokenizer.apply_chat_template(
                request.messages,
                add_generation_prompt=True,
                return_tensors="pt",
                return_dict=True,
            )["input_ids"]
        else:
            prompt = "\n\n".join(m["content"] for m in request.messages) + "\n"
            ids = tokenizer(prompt, return_tensors="pt")["input_ids"]  # (1, T)
        params = request.params
        temperature = float(params.get("temperature", 1.0))
        max_new = int(params.get("max_tokens", 64))
        eos = tokenizer.eos_token_id
        options: dict[str, Any] = {"max_new_tokens": max_new, "do_sample": temperature > 0}
        if temperature > 0:
            options.update(temperature=temperature, top_p=float(params.get("top_p", 1.0)))
        # fork_rng: the sampling seed must not leak into (or depend on) the process's torch RNG.
        with torch.random.fork_rng(devices=[]), torch.no_grad():
            torch.manual_seed(request.seed or 0)
            out = model.generate(
                ids,
                attention_mask=torch.ones_like(ids),
                pad_token_id=tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos,
                **options,
            )
        new = out[0, ids.shape[1] :]  # (T_new,)
        stopped = len(new) > 0 and eos is not None and int(new[-1]) == eos
        finish = "length" if len(new) >= max_new and not stopped else "stop"
        text = tokenizer.decode(new, skip_special_tokens=True)
        return Completion(text, finish, int(ids.shape[1]), len(new))
