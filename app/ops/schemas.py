"""Response models of the health endpoints (what /api/health answers, 200 or 503 alike)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class CheckOut(BaseModel):
    model_config = ConfigDict(extra="allow")  # a part's own details: backend, worker names

    ok: bool
    latency_ms: float | None = None
    error: str | None = None


class HealthOut(BaseModel):
    status: Literal["ok", "unavailable"]
    down: list[str] = Field(description="The parts that did not answer: database, broker, "
                            "workers")
    checks: dict[str, CheckOut]


class ReadyOut(BaseModel):
    """The public readiness answer: a status only (no part, host or error named)."""

    status: Literal["ok", "unavailable"]


class LiveOut(BaseModel):
    status: Literal["ok"]
