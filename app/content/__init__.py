"""The public, read-only Content API of published articles: JSON, RSS, Atom, a sitemap."""
