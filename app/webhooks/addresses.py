"""Where a webhook may go: http(s) URLs whose host resolves to public addresses only.

Checked when a subscription is stored and again before every attempt (DNS can change between
the two); the attempt then connects to the address that was checked, never to a second lookup
of the name, so a rebinding DNS server cannot swap in an internal address in between.
WEBHOOK_ALLOW_PRIVATE=true lifts the address rule (tests, closed networks), not the URL rules.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from app.webhooks.errors import UnsafeUrl
from app.webhooks.models import MAX_URL

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class Target:
    """A checked URL and the address an attempt connects to."""

    url: str
    host: str
    port: int
    address: str


def check_shape(url: object) -> str:
    """The URL's own rules (no DNS): a string of http or https with a host, at most MAX_URL."""
    if not isinstance(url, str) or not url.strip():
        raise UnsafeUrl("must be an http or https URL")
    url = url.strip()
    if len(url) > MAX_URL:
        raise UnsafeUrl(f"at most {MAX_URL} characters, got {len(url)}")
    if any(ord(c) < 33 or ord(c) == 127 for c in url):
        raise UnsafeUrl("must not contain spaces or control characters")
    parts = _split(url)
    if parts.scheme not in ("http", "https"):
        raise UnsafeUrl("must start with http:// or https://")
    if not parts.hostname:
        raise UnsafeUrl("has no host")
    if parts.username is not None or parts.password is not None:
        raise UnsafeUrl("must not carry a user name or password (it would be shown in lists)")
    return url


def _split(url: str) -> SplitResult:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port out of range
    except ValueError as exc:
        raise UnsafeUrl(f"is not a valid URL ({exc})") from None
    return parts


def is_public(address: IPAddress) -> bool:
    """Not private, loopback, link-local, multicast, reserved or unspecified (an IPv4 address
    mapped into IPv6 is judged as the IPv4 address)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return not (address.is_private or address.is_loopback or address.is_link_local
                or address.is_multicast or address.is_reserved or address.is_unspecified)


def resolve(url: str, *, allow_private: bool) -> Target:
    """The URL checked and its host resolved; every address it resolves to must be allowed
    (one private answer among public ones is refused too: the client could pick it)."""
    url = check_shape(url)
    parts = _split(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeUrl(f"host {host!r} does not resolve ({exc})") from None
    addresses = list(dict.fromkeys(str(info[4][0]).split("%")[0] for info in infos))
    if not addresses:
        raise UnsafeUrl(f"host {host!r} does not resolve")
    if not allow_private:
        for text in addresses:
            if not is_public(ipaddress.ip_address(text)):
                raise UnsafeUrl(f"host {host!r} resolves to {text}, a private, loopback, "
                                "link-local or reserved address (set WEBHOOK_ALLOW_PRIVATE=true "
                                "to allow it on a closed network)")
    return Target(url=url, host=host, port=port, address=addresses[0])
