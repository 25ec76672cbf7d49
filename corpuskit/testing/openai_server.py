"""A real local HTTP server that speaks the OpenAI chat-completions API, for tests and benchmarks.

It listens on 127.0.0.1 (a free port), answers ``POST /v1/chat/completions`` with deterministic
text, keeps a log of every request, and injects faults on demand: ``rate_limit`` (429 with
``Retry-After``), ``server_error`` (500), ``slow`` (answers after a delay beyond the client's
timeout), ``malformed_json`` (200 with a body that is not JSON), ``truncated`` (``finish_reason:
length`` with half the text) and ``empty_choices``.

Example:
    >>> with OpenAITestServer(delay_s=0.0) as server:
    ...     server.inject("rate_limit", times=1, retry_after=0.1)
    ...     # point an OpenAI client at server.base_url
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

FAULTS = (
    "rate_limit",
    "server_error",
    "slow",
    "malformed_json",
    "truncated",
    "empty_choices",
)
Responder = Callable[[dict[str, Any]], str]


def last_user_message(body: dict[str, Any]) -> str:
    """Content of the last ``user`` message of a chat-completions request body."""
    for message in reversed(body.get("messages", [])):
        if message.get("role") == "user":
            return str(message.get("content", ""))
    return ""


def default_responder(body: dict[str, Any]) -> str:
    """Deterministic reply: a digest of (model, messages, seed) and the prompt's last line."""
    key = json.dumps([body.get("model"), body.get("messages"), body.get("seed")], sort_keys=True)
    digest = hashlib.sha256(key.encode()).hexdigest()[:8]
    tail = last_user_message(body).strip().splitlines()[-1:] or [""]
    return f"reply {digest} about {tail[0]}".strip()


def prompt_set_responder(body: dict[str, Any]) -> str:
    """Deterministic, well-formed replies to corpuskit's built-in prompt sets.

    Paraphrase and grammar-example prompts get ``k`` numbered lines, Q&A prompts a JSON list,
    anything else ``default_responder``'s text. Replies depend on the prompt and the request seed.
    """
    prompt = last_user_message(body)
    seed = body.get("seed")
    k_match = re.search(r"\bwrite (\d+) ", prompt, re.IGNORECASE)
    k = int(k_match.group(1)) if k_match else 1
    if "Sentence: " in prompt:
        sentence = prompt.rsplit("Sentence: ", 1)[1].strip()
        return "\n".join(f"{i + 1}. Put another way ({seed}.{i}), {sentence}" for i in range(k))
    if prompt.startswith("Grammar point: "):
        title = prompt.split(":", 1)[1].split(".", 1)[0].strip()
        return "\n".join(f"- Example {i} of {title} number {seed}." for i in range(k))
    if "Passage: " in prompt:
        passage = prompt.rsplit("Passage: ", 1)[1].split()
        pairs = [
            {"question": f"What is word {i + 1}?", "answer": passage[i % len(passage)]}
            for i in range(k)
        ]
        return json.dumps(pairs)
    return default_responder(body)


@dataclass
class Fault:
    """A planned fault: applies to the next ``times`` matching requests (None: forever)."""

    kind: str
    times: int | None = 1
    match: str | None = None
    retry_after: float | None = None
    delay_s: float = 0.0

    def matches(self, body: dict[str, Any]) -> bool:
        return self.match is None or self.match in last_user_message(body)


@dataclass
class LoggedRequest:
    """One request as the server saw it (the API key is never stored, only whether one came)."""

    index: int
    path: str
    body: dict[str, Any] | None
    authorized: bool
    status: int = 0
    fault: str | None = None
    received_at: float = field(default_factory=time.monotonic)

    @property
    def prompt(self) -> str:
        return last_user_message(self.body or {})


class OpenAITestServer:
    """Threaded chat-completions server on 127.0.0.1; use as a context manager.

    Args:
        responder: text for a request body (default: ``default_responder``).
        delay_s: latency added to every answer.
        api_key: if set, requests must send ``Authorization: Bearer <api_key>`` (else 401).
    """

    def __init__(
        self,
        responder: Responder | None = None,
        *,
        delay_s: float = 0.0,
        api_key: str | None = None,
    ):
        self.responder = responder or default_responder
        self.delay_s = delay_s
        self.api_key = api_key
        self.log: list[LoggedRequest] = []
        self._faults: list[Fault] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ----- lifecycle ----------------------------------------------------------------------
    def start(self) -> OpenAITestServer:
        handler = _handler_for(self)
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._httpd.request_queue_size = 128
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> OpenAITestServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._httpd is not None, "server not started"
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    # ----- faults and log -----------------------------------------------------------------
    def inject(
        self,
        kind: str,
        *,
        times: int | None = 1,
        match: str | None = None,
        retry_after: float | None = None,
        delay_s: float = 2.0,
    ) -> None:
        """Plan a fault for the next ``times`` requests whose prompt contains ``match``."""
        if kind not in FAULTS:
            raise ValueError(f"unknown fault {kind!r}; one of {FAULTS}")
        with self._lock:
            self._faults.append(Fault(kind, times, match, retry_after, delay_s))

    def clear(self) -> None:
        """Forget planned faults and the request log."""
        with self._lock:
            self._faults.clear()
            self.log.clear()

    @property
    def completions(self) -> list[LoggedRequest]:
        """Logged chat-completion requests, in arrival order."""
        with self._lock:
            return [r for r in self.log if r.path.endswith("/chat/completions")]

    def _take_fault(self, body: dict[str, Any]) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.matches(body):
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times <= 0:
                            self._faults.remove(fault)
                    return fault
        return None

    def _enter(self) -> None:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def _leave(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def _record(self, path: str, body: dict[str, Any] | None, authorized: bool) -> LoggedRequest:
        with self._lock:
            entry = LoggedRequest(len(self.log), path, body, authorized)
            self.log.append(entry)
            return entry

    # ----- answers ------------------------------------------------------------------------
    def answer(
        self, body: dict[str, Any], fault: Fault | None
    ) -> tuple[int, dict[str, str], bytes]:
        """(status, headers, body bytes) for a request body and an optional fault."""
        if fault is not None and fault.kind == "rate_limit":
            headers = {} if fault.retry_after is None else {"Retry-After": f"{fault.retry_after}"}
            return 429, headers, _error_body("rate limit reached", "rate_limit_exceeded")
        if fault is not None and fault.kind == "server_error":
            return 500, {}, _error_body("internal server error", "server_error")
        if fault is not None and fault.kind == "malformed_json":
            return 200, {}, b'{"id": "chatcmpl-broken", "choices": [{"mess'
        text = self.responder(body)
        finish = "stop"
        if fault is not None and fault.kind == "truncated":
            # Cut mid-text (40% of the characters), the way max_tokens cuts a reply.
            text, finish = text[: max(1, len(text) * 2 // 5)], "length"
        prompt_words = sum(len(str(m.get("content", "")).split()) for m in body.get("messages", []))
        choices = [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": finish,
                "logprobs": None,
            }
        ]
        if fault is not None and fault.kind == "empty_choices":
            choices = []
        payload = {
            "id": f"chatcmpl-{hashlib.sha256(text.encode()).hexdigest()[:12]}",
            "object": "chat.completion",
            "created": 0,
            "model": body.get("model", ""),
            "choices": choices,
            "usage": {
                "prompt_tokens": prompt_words,
                "completion_tokens": len(text.split()),
                "total_tokens": prompt_words + len(text.split()),
            },
        }
        return 200, {}, json.dumps(payload).encode()


def _error_body(message: str, code: str) -> bytes:
    return json.dumps({"error": {"message": message, "type": code, "code": code}}).encode()


def _handler_for(server: OpenAITestServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in separate writes; without TCP_NODELAY, Nagle's algorithm and
        # delayed ACKs add ~40 ms to every answer and would swamp latency measurements.
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            """Silence the default stderr access log."""

        def do_GET(self) -> None:
            server._record(self.path, None, self._authorized())
            if self.path.rstrip("/").endswith("/models"):
                self._send(200, {}, json.dumps({"object": "list", "data": []}).encode())
            else:
                self._send(404, {}, _error_body("not found", "not_found"))

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length)
            try:
                body = json.loads(raw or b"{}")
            except json.JSONDecodeError:
                body = None
            entry = server._record(self.path, body, self._authorized())
            if not self.path.rstrip("/").endswith("/chat/completions") or body is None:
                entry.status = 404 if body is not None else 400
                self._send(entry.status, {}, _error_body("bad request", "invalid_request_error"))
                return
            if server.api_key is not None and not entry.authorized:
                entry.status = 401
                self._send(401, {}, _error_body("invalid api key", "invalid_api_key"))
                return
            fault = server._take_fault(body)
            entry.fault = fault.kind if fault else None
            delay = server.delay_s + (fault.delay_s if fault and fault.kind == "slow" else 0.0)
            server._enter()
            try:
                if delay:
                    time.sleep(delay)
                status, headers, payload = server.answer(body, fault)
            finally:
                server._leave()
            entry.status = status
            self._send(status, headers, payload)

        def _authorized(self) -> bool:
            auth = self.headers.get("Authorization", "")
            if server.api_key is None:
                return bool(auth)
            return auth == f"Bearer {server.api_key}"

        def _send(self, status: int, headers: dict[str, str], payload: bytes) -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout test): nothing left to answer

    return Handler
