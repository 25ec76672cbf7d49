"""The local OpenAI-compatible test server: answers, request log, auth and every fault kind."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

import pytest

from corpuskit.testing.openai_server import OpenAITestServer, prompt_set_responder


def post(
    server: OpenAITestServer, body: dict[str, Any], key: str | None = "k", timeout: float = 5.0
) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(
        server.base_url + "/chat/completions",
        data=json.dumps(body).encode(),
        headers={
            "Content-Type": "application/json",
            **({"Authorization": f"Bearer {key}"} if key else {}),
        },
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def chat(text: str, seed: int | None = None) -> dict[str, Any]:
    return {"model": "m", "messages": [{"role": "user", "content": text}], "seed": seed}


def test_answers_are_deterministic_and_logged() -> None:
    with OpenAITestServer() as server:
        a = json.loads(post(server, chat("hello world", 1))[2])
        b = json.loads(post(server, chat("hello world", 1))[2])
        c = json.loads(post(server, chat("hello world", 2))[2])
        assert a["choices"][0]["message"]["content"] == b["choices"][0]["message"]["content"]
        assert a["choices"][0]["message"]["content"] != c["choices"][0]["message"]["content"]
        assert a["choices"][0]["message"]["content"].endswith("about hello world")
        assert a["usage"] == {"prompt_tokens": 2, "completion_tokens": 5, "total_tokens": 7}
        assert [r.prompt for r in server.completions] == ["hello world"] * 3
        assert [r.status for r in server.completions] == [200, 200, 200]
        assert all(r.authorized for r in server.completions)


def test_api_key_is_enforced_and_never_logged() -> None:
    with OpenAITestServer(api_key="sekrit") as server:
        assert post(server, chat("x"), key="wrong")[0] == 401
        assert post(server, chat("x"), key="sekrit")[0] == 200
        assert [r.authorized for r in server.log] == [False, True]
        assert "sekrit" not in repr(server.log)


def test_rate_limit_fault_sends_retry_after_then_recovers() -> None:
    with OpenAITestServer() as server:
        server.inject("rate_limit", times=2, retry_after=1.5)
        first, second, third = (post(server, chat("x")) for _ in range(3))
        assert (first[0], first[1]["Retry-After"]) == (429, "1.5")
        assert second[0] == 429
        assert json.loads(first[2])["error"]["code"] == "rate_limit_exceeded"
        assert third[0] == 200
        assert [r.fault for r in server.log] == ["rate_limit", "rate_limit", None]


@pytest.mark.parametrize(
    ("kind", "check"),
    [
        ("server_error", lambda status, body: status == 500),
        ("malformed_json", lambda status, body: status == 200 and _not_json(body)),
        ("empty_choices", lambda status, body: json.loads(body)["choices"] == []),
        (
            "truncated",
            lambda status, body: json.loads(body)["choices"][0]["finish_reason"] == "length",
        ),
    ],
)
def test_fault_kinds(kind: str, check: Any) -> None:
    with OpenAITestServer() as server:
        server.inject(kind)
        status, _, body = post(server, chat("one two three four"))
        assert check(status, body)
        assert post(server, chat("one two three four"))[0] == 200  # consumed after one use


def _not_json(body: bytes) -> bool:
    try:
        json.loads(body)
    except json.JSONDecodeError:
        return True
    return False


def test_slow_fault_exceeds_client_timeout_and_match_targets_prompts() -> None:
    with OpenAITestServer() as server:
        server.inject("slow", times=None, match="slow one", delay_s=1.0)
        start = time.monotonic()
        assert post(server, chat("the fast one"))[0] == 200
        assert time.monotonic() - start < 0.9
        with pytest.raises(TimeoutError):
            post(server, chat("the slow one"), timeout=0.2)


def test_prompt_set_responder_follows_the_built_in_prompts() -> None:
    paraphrase = prompt_set_responder(chat("Write 2 different paraphrases\nSentence: A b c.", 5))
    assert paraphrase.splitlines() == [
        "1. Put another way (5.0), A b c.",
        "2. Put another way (5.1), A b c.",
    ]
    qa = json.loads(prompt_set_responder(chat("Write 2 questions\nPassage: red fox", 1)))
    assert qa == [
        {"question": "What is word 1?", "answer": "red"},
        {"question": "What is word 2?", "answer": "fox"},
    ]
