"""RSS 2.0, Atom (RFC 4287) and a sitemap (sitemaps.org 0.9) of live articles, built with the
standard library's ElementTree: it escapes every text and attribute, so a title with `&`, `<` or
Chinese text stays well-formed (UTF-8 declared and written)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from email.utils import format_datetime

from app.content.schemas import ContentArticle

# An empty feed's build time: fixed, so its bytes and so its ETag stay the same from one
# request to the next and a cache can revalidate it (the current time made every answer new).
EMPTY_FEED_TIME = datetime(1970, 1, 1, tzinfo=UTC)

ATOM_NS = "http://www.w3.org/2005/Atom"
SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"


def _xml(root: ET.Element) -> bytes:
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrs)
    if text is not None:
        element.text = text
    return element


def _summary(article: ContentArticle) -> str:
    return article.meta_description or article.excerpt or article.title


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def rss(articles: list[ContentArticle], *, title: str, site_url: str, self_url: str,
        language: str | None, now: datetime) -> bytes:
    """RSS 2.0: a channel with one item per article (guid: its permanent URL)."""
    # Namespaces as plain xmlns attributes: ElementTree's register_namespace is process-wide.
    root = ET.Element("rss", {"version": "2.0", "xmlns:atom": ATOM_NS})
    channel = _sub(root, "channel")
    _sub(channel, "title", title)
    _sub(channel, "link", site_url)
    _sub(channel, "description", f"The newest articles of {title}")
    _sub(channel, "atom:link", href=self_url, rel="self", type="application/rss+xml")
    if language:
        _sub(channel, "language", language)
    newest = max((a.updated_at for a in articles), default=now)
    _sub(channel, "lastBuildDate", format_datetime(newest.astimezone(UTC), usegmt=True))
    for article in articles:
        item = _sub(channel, "item")
        _sub(item, "title", article.title)
        _sub(item, "link", article.url)
        _sub(item, "guid", article.url, isPermaLink="true")
        _sub(item, "pubDate", format_datetime(article.published_at.astimezone(UTC),
                                              usegmt=True))
        _sub(item, "description", _summary(article))
        for term in _terms(article):
            _sub(item, "category", term)
    return _xml(root)


def atom(articles: list[ContentArticle], *, title: str, site_url: str, self_url: str,
         now: datetime) -> bytes:
    """Atom: a feed with one entry per article, its HTML as the content."""
    root = ET.Element("feed", {"xmlns": ATOM_NS})
    _sub(root, "id", self_url)
    _sub(root, "title", title)
    newest = max((a.updated_at for a in articles), default=now)
    _sub(root, "updated", _iso(newest))
    _sub(root, "link", href=self_url, rel="self")
    _sub(root, "link", href=site_url, rel="alternate")
    author = _sub(root, "author")
    _sub(author, "name", title)
    for article in articles:
        entry = _sub(root, "entry")
        _sub(entry, "id", article.url)
        _sub(entry, "title", article.title)
        _sub(entry, "link", href=article.url, rel="alternate")
        _sub(entry, "published", _iso(article.published_at))
        _sub(entry, "updated", _iso(article.updated_at))
        _sub(entry, "summary", _summary(article))
        _sub(entry, "content", article.html, type="html")
        for term in _terms(article):
            _sub(entry, "category", term=term)
    return _xml(root)


def sitemap(locations: list[tuple[str, datetime]]) -> bytes:
    """A urlset with each article's URL and the time its live text last changed."""
    root = ET.Element("urlset", {"xmlns": SITEMAP_NS})
    for loc, lastmod in locations:
        url = _sub(root, "url")
        _sub(url, "loc", loc)
        _sub(url, "lastmod", _iso(lastmod))
    return _xml(root)


def _terms(article: ContentArticle) -> list[str]:
    """The category, then the tags, each once (a tag often repeats the category)."""
    return list(dict.fromkeys([article.category, *article.tags]))
