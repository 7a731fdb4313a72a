"""LLM providers behind one interface; `get_provider()` picks the configured one."""

from __future__ import annotations

from functools import lru_cache

from app.config import get_settings
from app.llm.base import LLMProvider
from app.llm.offline import OfflineProvider
from app.llm.openai_provider import OpenAIProvider


@lru_cache
def get_provider() -> LLMProvider:
    """One provider (and HTTP connection pool) per process."""
    settings = get_settings()
    if settings.llm_provider == "openai":
        key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
        return OpenAIProvider(
            api_key=key,
            base_url=settings.openai_base_url,
            model=settings.openai_model,
            timeout=settings.llm_request_timeout,
            max_tokens=settings.llm_max_tokens,
            temperature=settings.llm_temperature,
            token_parameter=settings.llm_token_parameter,
            send_temperature=settings.llm_send_temperature,
        )
    return OfflineProvider(delay=settings.offline_delay)
