"""Thin HTTP handlers over app.services."""
