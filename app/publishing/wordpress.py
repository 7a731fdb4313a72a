"""The WordPress REST API client: Application Password over Basic auth, errors classified.

Routes are `/wp/v2/...`; a site with pretty permalinks answers them under `/wp-json`, one with
plain permalinks only as `/?rest_route=/wp/v2/...` (`rest_route=True`). The password never
appears in what this module raises: `mask` removes it (and its Basic auth form) from any text.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import unquote

import httpx

from app.core.models import utcnow
from app.publishing.errors import RemoteError

TIMEOUT = httpx.Timeout(20.0, connect=10.0)
MASK = "********"
# Statuses worth asking again (the site is busy or broken for now); any other 4xx is ours.
TRANSIENT_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
RETRY_AFTER_CAP = 3600.0


@dataclass(frozen=True)
class Site:
    base_url: str
    username: str
    password: str
    rest_route: bool = False


def mask(text: str, password: str) -> str:
    """`text` without the password, with or without its spaces, or inside a Basic header."""
    secrets = {password, password.replace(" ", "")}
    for form in list(secrets):
        secrets.add(base64.b64encode(f":{form}".encode()).decode()[4:])
    for secret in sorted((s for s in secrets if len(s) >= 4), key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


def retry_after(value: str | None) -> float | None:
    """Retry-After as seconds (a number or an HTTP date), capped; None when absent or bad."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = (parsedate_to_datetime(value) - utcnow()).total_seconds()
        except (TypeError, ValueError):
            return None
    return min(max(seconds, 0.0), RETRY_AFTER_CAP)


def classify(status: int, body: Any, headers: httpx.Headers | dict[str, str]) -> RemoteError:
    """The error for a non-2xx answer: WordPress's own `code` and `message` when it sent them."""
    fields = body if isinstance(body, dict) else {}
    code = fields.get("code")
    message = fields.get("message") or (
        f"redirected to {headers.get('location')}" if 300 <= status < 400
        else "the site answered HTML, not JSON (is the REST API disabled or blocked?)"
        if body is None else "no message")
    text = f"HTTP {status}" + (f" {code}" if code else "") + f": {message}"
    if status == 401:
        text += " (check the target's user name and Application Password: POST " \
                "/api/targets/{id}/test names what is wrong)"
    transient = status in TRANSIENT_STATUSES or status >= 500
    data = fields.get("data")
    return RemoteError(text, permanent=not transient, http_status=status, code=code,
                       retry_after=retry_after(headers.get("retry-after")) if transient else None,
                       data=data if isinstance(data, dict) else None)


class WordPress:
    """One site's REST API, one connection pool; use it as a context manager."""

    def __init__(self, site: Site, *, timeout: httpx.Timeout = TIMEOUT) -> None:
        self.site = site
        self.http = httpx.Client(auth=(site.username, site.password), timeout=timeout,
                                 headers={"Accept": "application/json"},
                                 follow_redirects=False)

    def __enter__(self) -> WordPress:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.http.close()

    def url(self, route: str) -> tuple[str, dict[str, str]]:
        base = self.site.base_url.rstrip("/")
        if self.site.rest_route:
            return f"{base}/", {"rest_route": route}
        return f"{base}/wp-json{route}", {}

    def request(self, method: str, route: str, *, params: dict[str, Any] | None = None,
                body: dict[str, Any] | None = None) -> Any:
        """The decoded JSON answer, or a RemoteError (classified, password masked)."""
        url, route_params = self.url(route)
        try:
            response = self.http.request(method, url, params={**route_params, **(params or {})},
                                         json=body)
        except httpx.TimeoutException as exc:
            raise RemoteError(f"timed out: {self._masked(exc)}", permanent=False) from None
        except httpx.HTTPError as exc:
            raise RemoteError(f"could not reach the site: {self._masked(exc)}",
                              permanent=False) from None
        data = _json(response)
        if response.is_success and data is not None:
            return data
        # A 2xx in HTML is a cache, a firewall or a login page answering for WordPress.
        status = 404 if response.is_success else response.status_code
        raise self._remote(classify(status, data, response.headers))

    def _masked(self, exc: Exception) -> str:
        return mask(str(exc) or type(exc).__name__, self.site.password)

    def _remote(self, error: RemoteError) -> RemoteError:
        error.message = mask(error.message, self.site.password)
        error.args = (f"{error.field}: {error.message}",)
        return error

    # --- what publishing uses --------------------------------------------------------------

    def me(self) -> dict[str, Any]:
        return dict(self.request("GET", "/wp/v2/users/me", params={"context": "edit"}))

    def post_meta_keys(self) -> set[str]:
        """The meta keys the site's post schema exposes (Yoast's or Rank Math's, when there)."""
        schema = self.request("OPTIONS", "/wp/v2/posts")
        meta = (schema.get("schema", {}).get("properties", {}).get("meta", {})
                if isinstance(schema, dict) else {})
        keys = meta.get("properties") if isinstance(meta, dict) else None
        return set(keys) if isinstance(keys, dict) else set()  # none registered: PHP's []

    def term_id(self, taxonomy: str, name: str) -> int:
        """The id of a category or tag named (or slugged) `name`, created when missing."""
        found = self.request("GET", f"/wp/v2/{taxonomy}", params={"slug": name})
        if found:
            return int(found[0]["id"])
        try:
            return int(self.request("POST", f"/wp/v2/{taxonomy}", body={"name": name})["id"])
        except RemoteError as exc:
            term = exc.code == "term_exists" and _term_id(exc)
            if term:
                return term
            raise

    def find_post(self, slug: str, marker: str) -> dict[str, Any] | None:
        """Our post on the site, whatever its status: by slug, then by the marker in its text
        (WordPress renames a taken slug `slug-2`); only a post carrying `marker` counts."""
        statuses = "draft,pending,future,publish,private"
        for params in ({"slug": slug}, {"search": marker.split()[1]}):
            posts = self.request("GET", "/wp/v2/posts",
                                 params={**params, "status": statuses, "context": "edit",
                                         "per_page": 20})
            for post in posts:
                if marker in (post.get("content") or {}).get("raw", ""):
                    return dict(post)
        return None

    def create_post(self, fields: dict[str, Any]) -> dict[str, Any]:
        return dict(self.request("POST", "/wp/v2/posts", body=fields))

    def update_post(self, post_id: int, fields: dict[str, Any]) -> dict[str, Any]:
        return dict(self.request("POST", f"/wp/v2/posts/{post_id}", body=fields))

    def trash_post(self, post_id: int) -> dict[str, Any]:
        return dict(self.request("DELETE", f"/wp/v2/posts/{post_id}"))


def same_slug(ours: str, theirs: str) -> bool:
    """WordPress answers non-ASCII slugs percent-encoded."""
    return unquote(theirs).lower() == ours.lower()


def _json(response: httpx.Response) -> Any:
    if "json" not in response.headers.get("content-type", ""):
        return None
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None


def _term_id(exc: RemoteError) -> int | None:
    """`term_exists` answers carry the existing term's id (`data.term_id`)."""
    term = exc.data.get("term_id")
    return int(term) if isinstance(term, int | str) and str(term).isdigit() else None
