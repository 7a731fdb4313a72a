"""One HTTP attempt: POST the signed body to the checked address, judge the answer.

No redirects are followed (a 3xx is a failure naming its Location: following one would reach
an address nobody checked), no proxy from the environment, at most MAX_EXCERPT bytes of the
answer read. A 2xx within the timeout is the only success.
"""

from __future__ import annotations

import ipaddress
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit, urlunsplit

import httpx

from app.webhooks.addresses import Target
from app.webhooks.models import MAX_EXCERPT


@dataclass(frozen=True)
class Outcome:
    succeeded: bool
    http_status: int | None = None
    latency_ms: int | None = None
    excerpt: str | None = None
    error: str | None = None
    retry_after: float | None = None  # seconds the receiver asked us to wait


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """A Retry-After header (seconds, or an HTTP date) as seconds from now; None if absent or
    unreadable."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _pinned(target: Target) -> tuple[str, str]:
    """(the URL with the checked address as its host, the Host header it must carry)."""
    parts = urlsplit(target.url)
    address = target.address
    if isinstance(ipaddress.ip_address(address), ipaddress.IPv6Address):
        address = f"[{address}]"
    netloc = f"{address}:{parts.port}" if parts.port else address
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=netloc)), host


def post(target: Target, body: str, headers: dict[str, str], timeout: float) -> Outcome:
    url, host = _pinned(target)
    started = time.monotonic()
    extensions = {"sni_hostname": target.host} if url.startswith("https:") else {}
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client:
            request = client.build_request(
                "POST", url, content=body.encode(), extensions=extensions,
                headers={**headers, "Host": host, "Content-Type": "application/json",
                         "User-Agent": "TrustAgency-Webhooks/1"})
            response = client.send(request, stream=True)
            try:
                excerpt = _excerpt(response)
            finally:
                response.close()
    except httpx.TimeoutException:
        return Outcome(False, latency_ms=_ms(started), error=f"no answer within {timeout:g} s")
    except httpx.HTTPError as exc:
        return Outcome(False, latency_ms=_ms(started), error=f"{type(exc).__name__}: {exc}")
    latency = _ms(started)
    code = response.status_code
    if 200 <= code < 300 and latency <= timeout * 1000:
        return Outcome(True, code, latency, excerpt)
    if 300 <= code < 400:
        error = f"redirect to {response.headers.get('location', '?')} not followed"
    elif 200 <= code < 300:
        error = f"answered after {latency / 1000:.1f} s, more than {timeout:g} s"
    else:
        error = f"HTTP {code}"
    return Outcome(False, code, latency, excerpt, error,
                   retry_after_seconds(response.headers.get("retry-after")))


def _excerpt(response: httpx.Response) -> str:
    kept = b""
    for chunk in response.iter_bytes():
        kept += chunk
        if len(kept) >= MAX_EXCERPT:
            break
    # Cut to the limit, then drop a character split at the cut.
    return kept[:MAX_EXCERPT].decode("utf-8", errors="ignore")


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
