"""The Celery application: configuration, beat scheduler, signal handlers."""
