"""Flower shows no secret: the configuration a worker reports (`inspect conf`, Flower's
"Config" tab, censored by Celery) holds no Redis password, and RedBeat still gets it."""

from __future__ import annotations

import json

import redis
from celery.app.utils import filter_hidden_settings

from app.worker.celery import app, redbeat_config

URL = "redis://beat-user:s3cret%2Fpass@redis.internal:6380/2"


def test_redbeats_password_is_kept_out_of_the_shown_configuration() -> None:
    config = redbeat_config(URL)
    assert config["redbeat_redis_url"] == "redis://redis.internal:6380/2"
    shown = json.dumps(filter_hidden_settings({**app.conf.table(), **config}), default=str)
    assert "s3cret" not in shown and "redis.internal:6380/2" in shown
    # RedBeat builds its client as redis-py's from_url(url, **options): the password is there.
    client = redis.Redis.from_url(config["redbeat_redis_url"], **config["redbeat_redis_options"])
    kwargs = client.connection_pool.connection_kwargs
    assert (kwargs["password"], kwargs["username"], kwargs["db"]) == ("s3cret/pass", "beat-user", 2)


def test_a_url_without_credentials_is_kept_as_it_is() -> None:
    assert redbeat_config("redis://localhost:6379/2") == {
        "redbeat_redis_url": "redis://localhost:6379/2", "redbeat_redis_options": {}}
    assert redbeat_config("redis://:pw@[::1]:6379/0")["redbeat_redis_url"] == \
        "redis://[::1]:6379/0"
