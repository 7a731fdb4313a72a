"""The connection test of a target: `GET /wp/v2/users/me?context=edit`, and what is wrong,
named (the README's troubleshooting table is this module's messages)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from app.publishing import targets
from app.publishing.errors import RemoteError
from app.publishing.remote import SEO_META
from app.publishing.wordpress import Site, WordPress

BAD_CREDENTIALS = frozenset({"incorrect_password", "invalid_username", "rest_not_logged_in",
                             "invalid_email", "application_passwords_disabled"})


@dataclass(frozen=True)
class Problem:
    code: str
    message: str
    severity: str = "error"  # "warning": publishing works, but not as one would expect


@dataclass
class Report:
    problems: list[Problem] = field(default_factory=list)
    user: str | None = None
    can_publish: bool | None = None
    permalinks: str | None = None  # "pretty" (/wp-json/), "plain" (?rest_route=)
    seo: str | None = None  # the SEO plugin whose meta we can set, when any

    @property
    def ok(self) -> bool:
        return not any(p.severity == "error" for p in self.problems)


def _credentials(exc: RemoteError) -> Problem:
    if exc.code == "rest_not_logged_in":
        return Problem("bad_password", "WordPress did not sign us in (401 rest_not_logged_in):"
                       " the user name or the Application Password is wrong, or the site ignores "
                       "Application Passwords (they need HTTPS unless WP_ENVIRONMENT_TYPE is "
                       "'local', and some servers strip the Authorization header)")
    return Problem("bad_password", f"WordPress refused the user or the Application Password "
                   f"({exc.message}): check the user name, or create a new Application "
                   "Password under Users > Profile > Application Passwords")


def _no_rest(site: Site, exc: RemoteError) -> Problem:
    if exc.http_status == 403:
        return Problem("rest_blocked", f"the REST API refused us ({exc.message}): a security "
                       "plugin or a firewall blocks /wp-json/ for this user or address")
    return Problem("rest_disabled", f"no WordPress REST API at {site.base_url}/wp-json/ nor at "
                   f"?rest_route= ({exc.message}): is this the site's address, and does a "
                   "plugin or the server disable the REST API?")


def _me(site: Site, report: Report) -> dict | None:
    """users/me, through /wp-json/ and then ?rest_route= (plain permalinks)."""
    try:
        with WordPress(replace(site, rest_route=False)) as wp:
            me = wp.me()
        report.permalinks = "pretty"
        return me
    except RemoteError as exc:
        if exc.code in BAD_CREDENTIALS:
            report.problems.append(_credentials(exc))
            return None
        if not exc.permanent:
            report.problems.append(Problem("unreachable", f"the site did not answer: "
                                                          f"{exc.message}"))
            return None
        first = exc
    try:
        with WordPress(replace(site, rest_route=True)) as wp:
            me = wp.me()
    except RemoteError as exc:
        report.problems.append(_credentials(exc) if exc.code in BAD_CREDENTIALS
                               else _no_rest(site, first))
        return None
    report.permalinks = "plain"
    report.problems.append(Problem(
        "plain_permalinks", "the site uses plain permalinks, so /wp-json/ is not routed: we "
        "use ?rest_route= instead (remembered). Settings > Permalinks > 'Post name' makes "
        "/wp-json/ work", severity="warning"))
    return me


def check(site: Site, require_https: bool) -> Report:
    """What is wrong with this site and user, if anything; nothing is changed on the site."""
    report = Report()
    if require_https and urlsplit(site.base_url).scheme != "https":
        report.problems.append(Problem(
            "no_https", "the base URL is http:// and this target requires HTTPS, so the "
            "password was not sent: use the site's https:// address (or set require_https "
            "false for a site on this machine or a trusted network)"))
        return report
    me = _me(site, report)
    if me is None:
        return report
    report.user = str(me.get("username") or me.get("name") or site.username)
    capabilities = me.get("capabilities") or {}
    report.can_publish = bool(capabilities.get("publish_posts"))
    if not report.can_publish:
        roles = ", ".join(me.get("roles") or []) or "unknown"
        report.problems.append(Problem(
            "cannot_publish", f"the user {report.user!r} (role {roles}) lacks the "
            "publish_posts capability: make them an Author, Editor or Administrator"))
        return report
    try:
        with WordPress(replace(site, rest_route=report.permalinks == "plain")) as wp:
            keys = wp.post_meta_keys()
    except RemoteError:
        keys = set()  # the SEO plugin is a detail: the sign-in worked
    report.seo = next((plugin for plugin, title, desc in SEO_META
                       if title in keys and desc in keys), None)
    return report


def test(session: Session, target_id: int) -> Report:
    """Check a stored target; remember whether its site needs `?rest_route=`."""
    target = targets.get_or_404(session, target_id)
    report = check(targets.site_of(target), target.require_https)
    if report.permalinks is not None:
        target.rest_route_fallback = report.permalinks == "plain"
        session.flush()
    return report
