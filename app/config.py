"""The one Settings class: nothing else in the project reads the environment."""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent
# The quality checks by name, in the order they run (app/articles/quality.py ALL_CHECKS).
QualityCheck = Literal["length", "structure", "language", "refusal", "duplicate", "truncated"]
QUALITY_CHECK_NAMES: tuple[QualityCheck, ...] = (
    "length", "structure", "language", "refusal", "duplicate", "truncated")
VAR_DIR = ROOT / "var"
# The fields of one LLM_PRICES entry, USD per 1M tokens.
_PRICE_KEYS = {"input", "output", "batch_input", "batch_output"}
_LANGUAGE_TAG = re.compile(r"^(?:[Aa][Uu][Tt][Oo]|[a-zA-Z]{2,3}(?:-[A-Za-z0-9]{2,8})*)$")


class Settings(BaseSettings):
    # The repo's .env wherever the process starts; one in the working directory wins.
    model_config = SettingsConfigDict(
        env_file=(ROOT / ".env", ".env"), extra="ignore", case_sensitive=False
    )

    # --- Celery / Redis -------------------------------------------------------------------
    celery_broker_url: str = "redis://localhost:6379/0"
    celery_result_backend: str = "redis://localhost:6379/1"
    # Locks, rate-limit buckets, cancel flags and progress events. Derived from the broker.
    redis_url: str = ""
    # The plan's setting; only JSON is accepted on the queue (a pickle could run code).
    celery_task_serializer: Literal["json"] = "json"
    # Worker slots and pool for `make run` and start_celery_worker.sh.
    celery_concurrency: int = Field(4, ge=1)
    celery_pool: Literal["prefork", "threads", "solo", "gevent", "eventlet"] = "prefork"
    celery_task_time_limit: int = Field(1800, ge=1)
    celery_task_soft_time_limit: int = Field(1500, ge=1)
    # Must stay above the hard limit: a smaller one redelivers tasks that are still running.
    celery_visibility_timeout: int = Field(7200, ge=1)
    celery_result_expires: int = Field(86400, ge=60)
    # Task events for Flower cost 3-4 Redis PUBLISHes per article, so they are off by default:
    # a running Flower switches the workers' events on itself (every 5 s).
    celery_task_events: bool = False

    # --- database -------------------------------------------------------------------------
    database_url: str = f"sqlite:///{VAR_DIR / 'trustagency.db'}"
    # Connections kept per process: a threads worker runs up to --concurrency items at once
    # (20 recommended) and the API serves sync routes from a 40-thread pool.
    db_pool_size: int = Field(20, ge=1)
    db_max_overflow: int = Field(20, ge=0)

    # --- LLM ------------------------------------------------------------------------------
    llm_provider: Literal["openai", "offline", ""] = ""
    openai_api_key: SecretStr | None = None
    openai_base_url: str | None = None
    openai_model: str = "gpt-4o-mini"
    llm_max_tokens: int = Field(1500, ge=16)
    llm_temperature: float = Field(0.7, ge=0, le=2)
    # Per-request timeout of the HTTP client; kept below the soft time limit (see validator).
    llm_timeout: float = Field(120.0, gt=0)
    llm_max_retries: int = Field(5, ge=0)
    llm_retry_backoff: float = Field(2.0, ge=0)
    llm_retry_backoff_max: float = Field(120.0, ge=0)
    # Shared across all workers on all machines (0 = unlimited).
    llm_rpm: int = Field(0, ge=0)
    llm_tpm: int = Field(0, ge=0)
    # The offline provider writes a placeholder draft; this delay makes progress visible.
    offline_delay: float = Field(0.5, ge=0)
    # Reasoning models (o-series, gpt-5 family) refuse `max_tokens` and a custom temperature.
    # auto: max_completion_tokens and no temperature for those names, max_tokens + temperature
    # for others, and switch (once per model) on the provider's "unsupported parameter" 400.
    llm_token_parameter: Literal["auto", "max_tokens", "max_completion_tokens"] = "auto"
    llm_send_temperature: Literal["auto", "true", "false"] = "auto"

    # --- reliability ----------------------------------------------------------------------
    # An item being generated refreshes its lease; one whose lease ran out was lost.
    item_lease_seconds: int = Field(60, ge=2)
    reaper_interval: float = Field(30.0, gt=0)
    # A pending item older than this while the queue is empty lost its message.
    reaper_pending_grace: float = Field(60.0, ge=0)
    # Item messages on the broker beyond the free slots (app.batches.scheduling.feeder); 0 = auto.
    dispatch_margin: int = Field(0, ge=0, le=10_000)

    # --- API ------------------------------------------------------------------------------
    # The token of the built-in admin service account `api-token` (scripts, monitors); at
    # least 24 characters and no placeholder (app/core/exposure.py refuses others at start-up).
    api_token: SecretStr | None = None
    # The only way to serve without authentication: requests with no credentials then act as
    # an anonymous admin (app/accounts/auth.py). Off: they get 401.
    api_allow_unauthenticated: bool = False
    # Host header allow-list (DNS rebinding): a comma list of host names, without ports; `*`
    # allows any (app/accounts/hosts.py).
    api_allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["localhost", "127.0.0.1", "[::1]"])
    max_titles_per_batch: int = Field(100, ge=1)
    max_title_length: int = Field(300, ge=1)
    max_body_bytes: int = Field(1_000_000, ge=1024)
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    # Live progress (Server-Sent Events): a comment line keeps proxies from closing idle
    # streams; the database is polled this often when Redis pub/sub is unavailable.
    events_heartbeat_seconds: float = Field(15.0, gt=0)
    events_poll_seconds: float = Field(1.0, gt=0)

    # --- the public Content API (app/content) -----------------------------------------------
    # When set, /content/* and /sitemap.xml need it (`?key=` or `X-Content-Key`), else 401.
    content_api_key: SecretStr | None = None
    # The site's public base URL for links in feeds, the sitemap and `url` (e.g.
    # https://example.com); unset: the request's own base URL.
    content_base_url: str | None = Field(None, max_length=500, pattern=r"^https?://[^\s]+$")
    content_site_title: str = Field("TrustAgency", min_length=1, max_length=200)

    # --- operations -----------------------------------------------------------------------
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"
    sentry_dsn: SecretStr | None = None
    flower_basic_auth: str | None = None
    flower_address: str = "127.0.0.1"
    flower_port: int = 5555
    prometheus_multiproc_dir: str | None = None
    # A worker machine without the API serves its processes' metrics here (0 = off).
    worker_metrics_port: int = Field(0, ge=0, le=65535)
    worker_metrics_address: str = "127.0.0.1"
    # /metrics renders at most once per this many seconds; scrapes in between get the same
    # page (0: every scrape renders).
    metrics_cache_seconds: float = Field(5.0, ge=0, le=300)
    sentry_environment: str = "production"
    sentry_traces_sample_rate: float = Field(0.0, ge=0, le=1)
    # Housekeeping run by beat: finished batches older than this are deleted (0 = keep all).
    batch_retention_days: int = Field(0, ge=0)
    cleanup_interval: float = Field(3600.0, gt=0)

    # --- costs and budgets ----------------------------------------------------------------
    # USD per 1M tokens by model name, over the genai-prices table (app/llm/prices.py):
    # {"model": {"input": 0.15, "output": 0.6, "batch_input": 0.075, "batch_output": 0.3}};
    # batch_* default to the real-time prices. A name also covers its dated variants.
    llm_prices: Annotated[dict[str, dict[str, float]], NoDecode] = Field(default_factory=dict)
    # Installation-wide spend caps in USD, shared by all workers (app/batches/spend/budget.py; 0 =
    # off).
    budget_daily_usd: float = Field(0.0, ge=0)
    budget_monthly_usd: float = Field(0.0, ge=0)
    # Per-user submit limits over the last hour (0 = unlimited); an admin overrides them per
    # user with PUT /api/limits/{user_name}.
    submit_max_batches_per_hour: int = Field(0, ge=0, le=1_000_000)
    submit_max_titles_per_hour: int = Field(0, ge=0, le=100_000_000)
    # The daily cap's window in seconds: 86400 is the UTC day. Shorter only to watch a window
    # roll over (tests, a trial); windows start at multiples of it since 1970-01-01 00:00 UTC.
    budget_daily_window_seconds: int = Field(86400, ge=1, le=86400)
    # How often the workers poll the provider's Batch API for batches in `mode: "batch"`
    # (seconds; app/worker/loop.py).
    batch_poll_seconds: float = Field(30.0, gt=0)

    # --- webhooks (app/webhooks) -----------------------------------------------------------
    # Receivers on private, loopback, link-local... addresses are refused unless this is true
    # (tests, closed networks): a subscription must not reach into the service's own network.
    webhook_allow_private: bool = False
    # A 2xx within this many seconds is a success; anything else is a failed attempt.
    webhook_timeout_seconds: float = Field(10.0, gt=0, le=60)
    # Seconds before each retry after a failed attempt (comma-separated or a JSON list); the
    # delivery gives up after the last. A Retry-After is honoured up to the largest step.
    webhook_retry_schedule: Annotated[list[float], NoDecode] = Field(
        default_factory=lambda: [5.0, 30.0, 120.0, 600.0, 3600.0, 21600.0, 43200.0, 86400.0,
                                 86400.0])
    # A subscription failing without one success for this long is disabled, with the reason.
    webhook_disable_after_hours: float = Field(72.0, gt=0)
    # A delivery sent to the broker but not attempted after this long lost its message (Redis
    # restarted): the workers' maintenance loop sends it again.
    webhook_requeue_grace_seconds: float = Field(60.0, gt=0)

    # --- language -------------------------------------------------------------------------
    # A batch's language when it names none: a BCP 47 tag (en, zh-CN, ja ...) or "auto" (each
    # title's own language, detected when the batch is stored; app/batches/validation.py).
    article_language: str = "auto"

    # --- quality checks -------------------------------------------------------------------
    # Run on each generated article (app/articles/quality.py); listing fewer turns the others
    # off. Comma-separated names or a JSON list; "none" or [] for no checks.
    quality_checks: Annotated[list[QualityCheck], NoDecode] = Field(
        default_factory=lambda: list(QUALITY_CHECK_NAMES))
    # Regenerations of an article that failed a check (with the reason in the prompt), counted
    # as attempts; one that still fails is kept as needs_review.
    quality_max_regenerations: int = Field(1, ge=0)
    # Refusal/boilerplate phrases besides the built-in English and Chinese ones, a JSON list.
    quality_extra_phrases: Annotated[list[str], NoDecode] = Field(default_factory=list)

    @field_validator(
        "openai_base_url", "openai_api_key", "api_token", "content_api_key", "sentry_dsn",
        "flower_basic_auth", "prometheus_multiproc_dir", "content_base_url", mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("api_allowed_hosts", mode="before")
    @classmethod
    def _host_list(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.split(",")
        if isinstance(value, list | tuple):
            return [h.strip().lower() for h in value if isinstance(h, str) and h.strip()]
        return value

    @field_validator("llm_token_parameter", "llm_send_temperature", mode="before")
    @classmethod
    def _lower_choice(cls, value: object) -> object:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, str):
            value = value.strip().lower()
            return {"1": "true", "yes": "true", "on": "true",
                    "0": "false", "no": "false", "off": "false"}.get(value, value)
        return value

    @field_validator("llm_prices", mode="before")
    @classmethod
    def _parse_prices(cls, value: object) -> object:
        if isinstance(value, str):
            value = json.loads(value) if value.strip() else {}
        if isinstance(value, dict):
            for model, prices in value.items():
                keys = set(prices) if isinstance(prices, dict) else set()
                if not {"input", "output"} <= keys <= _PRICE_KEYS:
                    raise ValueError(
                        f"LLM_PRICES[{model!r}]: expected input and output (and optionally "
                        f"batch_input, batch_output) in USD per 1M tokens, got {prices!r}")
                if any(not isinstance(v, int | float) or v < 0 for v in prices.values()):
                    raise ValueError(f"LLM_PRICES[{model!r}]: prices must be numbers >= 0")
        return value

    @field_validator("article_language", mode="before")
    @classmethod
    def _language_tag(cls, value: object) -> object:
        # The shape only (app.llm.language validates and cases tags; config sits below it).
        text = value.strip().replace("_", "-") if isinstance(value, str) else value
        if text == "":
            return "auto"
        if not isinstance(text, str) or not _LANGUAGE_TAG.match(text):
            raise ValueError(f"ARTICLE_LANGUAGE must be 'auto' or a BCP 47 tag such as en or "
                             f"zh-CN, not {value!r}")
        return text

    @field_validator("quality_checks", mode="before")
    @classmethod
    def _parse_checks(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            if not text:
                return list(QUALITY_CHECK_NAMES)
            if text.lower() == "none":
                return []
            value = json.loads(text) if text.startswith("[") else text.split(",")
        if isinstance(value, list | tuple):
            names = [v.strip().lower() if isinstance(v, str) else v for v in value]
            return list(dict.fromkeys(n for n in names if n != ""))  # no blanks, no repeats
        return value

    @field_validator("webhook_retry_schedule", mode="before")
    @classmethod
    def _parse_schedule(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            value = json.loads(text) if text.startswith("[") else [
                part for part in text.split(",") if part.strip()]
        if isinstance(value, list) and (not value or len(value) > 50):
            raise ValueError("WEBHOOK_RETRY_SCHEDULE: between 1 and 50 delays in seconds")
        return value

    @field_validator("quality_extra_phrases", mode="before")
    @classmethod
    def _parse_phrases(cls, value: object) -> object:
        if isinstance(value, str):
            if not value.strip():
                return []
            try:
                value = json.loads(value)
            except ValueError:
                raise ValueError('QUALITY_EXTRA_PHRASES must be a JSON list of strings, e.g. '
                                 '["Lorem ipsum", "示例文本"]') from None
        if isinstance(value, list):
            return [v.strip() if isinstance(v, str) else v for v in value
                    if not (isinstance(v, str) and not v.strip())]
        return value

    @model_validator(mode="after")
    def _derive(self) -> Settings:
        if not self.redis_url:
            self.redis_url = self.celery_broker_url
        if not self.llm_provider:
            self.llm_provider = (
                "openai" if (self.openai_api_key or self.openai_base_url) else "offline"
            )
        if self.celery_task_soft_time_limit >= self.celery_task_time_limit:
            raise ValueError("CELERY_TASK_SOFT_TIME_LIMIT must be below CELERY_TASK_TIME_LIMIT")
        return self

    @property
    def llm_request_timeout(self) -> float:
        """The client timeout, capped below the soft limit so a hang ends as a retry."""
        return max(1.0, min(self.llm_timeout, self.celery_task_soft_time_limit * 0.8))


@lru_cache
def get_settings() -> Settings:
    return Settings()
