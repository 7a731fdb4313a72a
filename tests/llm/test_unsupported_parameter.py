"""Reading the provider's "unsupported parameter/value" 400 (what the switch is decided on)."""

from __future__ import annotations

from typing import Any

import httpx2
import openai
import pytest

from app.llm.openai_provider import is_reasoning_model, unsupported_parameter

MAX_TOKENS = ("Unsupported parameter: 'max_tokens' is not supported with this model. "
              "Use 'max_completion_tokens' instead.")


def bad_request(error: dict[str, Any], status: int = 400) -> openai.APIStatusError:
    request = httpx2.Request("POST", "http://fake/v1/chat/completions")
    response = httpx2.Response(status, request=request, json={"error": error})
    cls = openai.BadRequestError if status == 400 else openai.UnprocessableEntityError
    return cls(error.get("message", ""), response=response, body={"error": error})


SENT = {"model": "m", "messages": [], "max_tokens": 10, "temperature": 0.7}


def test_openai_shape_names_the_parameter() -> None:
    exc = bad_request({"message": MAX_TOKENS, "type": "invalid_request_error",
                       "param": "max_tokens", "code": "unsupported_parameter"})
    assert unsupported_parameter(exc, SENT) == "max_tokens"
    exc = bad_request({"message": "Unsupported value: 'temperature' does not support 0.7 with "
                       "this model.", "param": "temperature", "code": "unsupported_value"})
    assert unsupported_parameter(exc, SENT) == "temperature"


def test_without_param_the_first_sent_name_in_the_message_counts() -> None:
    # Both names are in the message; only max_tokens was sent.
    assert unsupported_parameter(bad_request({"message": MAX_TOKENS}), SENT) == "max_tokens"
    sent = {"model": "m", "max_completion_tokens": 10}
    exc = bad_request({"message": "max_completion_tokens is not supported by this server"})
    assert unsupported_parameter(exc, sent) == "max_completion_tokens"


@pytest.mark.parametrize("error", [
    {"message": "Invalid request (fake).", "code": None},  # not about a parameter
    {"message": "Unsupported parameter: 'top_k'", "param": "top_k"},  # one we do not send
])
def test_other_400s_are_not_a_switch(error: dict[str, Any]) -> None:
    assert unsupported_parameter(bad_request(error), SENT) is None


def test_only_400_counts() -> None:
    exc = bad_request({"message": MAX_TOKENS, "param": "max_tokens"}, status=422)
    assert unsupported_parameter(exc, SENT) is None


@pytest.mark.parametrize(("model", "reasoning"), [
    ("o1", True), ("o1-preview", True), ("o3", True), ("o4-mini", True), ("gpt-5", True),
    ("gpt-5.1", True), ("GPT-5-nano", True), ("openrouter/openai/o3-mini", True),
    ("gpt-4o", False), ("gpt-50", False), ("omni", False), ("o", False), ("llama-o1", False),
])
def test_reasoning_model_names(model: str, reasoning: bool) -> None:
    assert is_reasoning_model(model) is reasoning
