"""Every task name, queue name and Redis key prefix, in one place.

Task names are the plan's module paths (`app.tasks.ai_generation.*`), kept although the code
moved into the domain packages: producers, Flower and beat entries already use them.
"""

from __future__ import annotations

# --- Celery task names -------------------------------------------------------------------
BATCH_TASK = "app.tasks.ai_generation.generate_article_batch"
ITEM_TASK = "app.tasks.ai_generation.generate_single_article"
UPDATE_STATUS_TASK = "app.tasks.ai_generation.update_task_status"
BATCH_ERROR_TASK = "app.tasks.ai_generation.handle_generation_error"
REAP_TASK = "app.tasks.maintenance.reap_stuck_items"
CLEANUP_TASK = "app.tasks.maintenance.cleanup_old_data"
SYNC_SCHEDULES_TASK = "app.tasks.maintenance.sync_schedules"
RUN_SCHEDULE_TASK = "app.tasks.maintenance.run_schedule"
# Costs, budgets and the Batch API lane (routed to MAINTENANCE_QUEUE by app.worker.celery).
POLL_PROVIDER_BATCHES_TASK = "app.tasks.maintenance.poll_provider_batches"
RESUME_PAUSED_TASK = "app.tasks.maintenance.resume_paused_batches"
DEBUG_TASK = "app.celery_app.debug_task"
# One attempt at a webhook delivery (app/webhooks/tasks.py), on WEBHOOK_QUEUE.
WEBHOOK_DELIVER_TASK = "app.webhooks.tasks.deliver"
# Publishing to WordPress (app.publishing.tasks), on PUBLISHING_QUEUE.
PUSH_PUBLICATION_TASK = "app.tasks.publishing.push_publication"
WITHDRAW_PUBLICATION_TASK = "app.tasks.publishing.withdraw_publication"
PUBLISHING_TASKS = (PUSH_PUBLICATION_TASK, WITHDRAW_PUBLICATION_TASK)

# --- queues --------------------------------------------------------------------------------
# Article work; Celery's default queue name, so a plain `celery worker` consumes it.
ITEM_QUEUE = "celery"
# Recovery and housekeeping: never behind article messages (see docs/architecture.md).
MAINTENANCE_QUEUE = "maintenance"
# Outbound webhooks: a slow receiver never sits in front of article work or maintenance.
WEBHOOK_QUEUE = "webhooks"
# Sends to WordPress sites: a slow or failing site never holds up article work.
PUBLISHING_QUEUE = "publishing"
# What every worker consumes (start_celery_worker.sh, `trustagency up`, the tests' workers).
WORKER_QUEUES = (ITEM_QUEUE, MAINTENANCE_QUEUE, WEBHOOK_QUEUE, PUBLISHING_QUEUE)
# Beat's periodic tasks go to MAINTENANCE_QUEUE (app/worker/celery.py routes them).
MAINTENANCE_TASKS = (REAP_TASK, CLEANUP_TASK, SYNC_SCHEDULES_TASK, POLL_PROVIDER_BATCHES_TASK,
                     RESUME_PAUSED_TASK)

# --- Redis keys (REDIS_URL) ------------------------------------------------------------------
PREFIX = "ta:"
REDBEAT_PREFIX = PREFIX + "redbeat:"
RATE_LIMIT_KEY = PREFIX + "ratelimit:llm"
SCHEDULES_LOCK = PREFIX + "lock:schedules"
CANCEL_TTL_SECONDS = 7 * 24 * 3600
# Spend caps (app.batches.spend.budget): USD spent and reserved per UTC day, month and batch, and
# one
# hash per reservation in flight.
BUDGET_PREFIX = PREFIX + "budget:"
BUDGET_DAY_PREFIX = BUDGET_PREFIX + "day:"  # + YYYY-MM-DD (UTC)
BUDGET_MONTH_PREFIX = BUDGET_PREFIX + "month:"  # + YYYY-MM (UTC)
BUDGET_BATCH_PREFIX = BUDGET_PREFIX + "batch:"  # + batch id
BUDGET_HOLD_PREFIX = BUDGET_PREFIX + "hold:"  # + reservation key_id

# The fair scheduler's deficit counters (app.batches.scheduling.fairness.FairState), kept by the
# feeder.
FAIR_STATE_KEY = PREFIX + "feed:fair-state"
# PostgreSQL advisory lock (a bigint) the feeders take turns on (app.batches.scheduling.backlog).
FEEDER_ADVISORY_LOCK = 0x7461_6665_6564  # "tafeed"
# Counts the feeds that wanted a turn (PostgreSQL): one that finds the turn taken leaves its
# freed slots to the feeder holding it, which looks again when this moved during its turn.
FEED_WANTED_KEY = PREFIX + "feed:wanted"

# Written once into the broker's Redis and never expiring: gone means Redis lost its data, and
# with it queued messages (app.batches.scheduling.recovery re-enqueues from the database).
EPOCH_KEY = PREFIX + "epoch"
# The same for the Redis of the worker registry (REDIS_URL): while it is young, a missing
# heartbeat key may only mean the worker has not written it again yet.
REGISTRY_EPOCH_KEY = PREFIX + "epoch:registry"


def events_channel(batch_id: str) -> str:
    """Pub/sub channel of a batch's progress events."""
    return f"{PREFIX}events:{batch_id}"


def cancel_key(batch_id: str) -> str:
    """Set when a batch is cancelled; running items poll it between streamed chunks."""
    return f"{PREFIX}cancel:{batch_id}"


def worker_key(hostname: str) -> str:
    """A live worker's heartbeat (app.core.workers); `*` for a pattern."""
    return f"{PREFIX}worker:{hostname}"


def loop_lock(job: str) -> str:
    """Held for one tick of a worker maintenance job (app/worker/loop.py): one worker runs it."""
    return f"{PREFIX}lock:loop:{job}"


def dispatch_lock(batch_id: str) -> str:
    return f"{PREFIX}lock:dispatch:{batch_id}"


def provider_batch_lock(provider_batch_id: str) -> str:
    """Held while one poller reads a provider batch's results (app.batches.provider_lane.lane)."""
    return f"{PREFIX}lock:provider-batch:{provider_batch_id}"


def login_failures_key(subject: str) -> str:
    """Failed logins of one name from one address (app.accounts.throttle); `subject` is a
    digest of both, so no user name or address is readable in Redis."""
    return f"{PREFIX}login:failures:{subject}"


def login_lock_key(subject: str) -> str:
    """Set while logins for `subject` are refused (429 with Retry-After)."""
    return f"{PREFIX}login:lock:{subject}"


def publication_lock(publication_id: int) -> str:
    """Held while one worker sends a publication, so two sends never race to create a post."""
    return f"{PREFIX}lock:publication:{publication_id}"
