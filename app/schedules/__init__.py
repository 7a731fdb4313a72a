"""Scheduled batches: cron rows in the database, mirrored into RedBeat for beat."""
