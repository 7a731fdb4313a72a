"""Shared plumbing every domain builds on: database and unit of work, Redis, names, errors."""
