"""dispatch: per-batch counts of waiting and in-flight items kept by triggers, and the indexes
the feeder marks items through

The feeder (app/batches/scheduling/feeder.py) used to count every batch's waiting and in-flight
items at each feed. `dispatch_counts` holds those counts per batch instead, and triggers on
generation_items keep them exact whichever code moves an item (every transition of
app.batches.state, the Batch API lane, recovery, a test's raw UPDATE): an item's *class* is
computed before and after each change and the counts move when it changes. A claim (sent →
running) or a heartbeat changes no class and writes nothing.

Classes (app.batches.scheduling.backlog documents the same):
  1 pending      status pending, not sent (enqueued_at NULL), no provider batch
  2 handed_back  status pending, not sent, handed back by the Batch API lane (provider batch id)
  3 retrying     status retrying, not sent (due at next_attempt_at)
  4 in_flight    sent and not claimed (pending/retrying with enqueued_at), or running under a
                 worker's lease (processing with lease_expires_at)
  0 anything else (ended, or held by a provider batch: processing without a lease)

Two rows per batch: writer `feeder` takes the moves only the feeder makes (a waiting item marked
sent, its status unchanged), writer `items` every other move. A batch's counts are the sum of its
two rows; on PostgreSQL a feeder marking items so never waits for the row lock a completing
item's transaction holds on its batch's `items` row. Rows are created by the first move (upsert).
Lock order (PostgreSQL): a move counted on the `items` row locks its batch's row first, so every
transaction takes a batch's row before its counts, as app.batches.state does; the `feeder` row
is only ever written by the feeder, in its turn.

Two partial indexes over the few items that wait (not over the whole table): `ix_item_waiting`
(task_id, index) walks a batch's backlog in title order for the feeder's mark, and
`ix_item_retry_due` (task_id, next_attempt_at) counts its retries that are due.

SQLite: a later migration that makes Alembic *recreate* generation_items (batch mode for a drop
or alter of a column) drops its triggers with the old table; it must create them again
(`_sqlite_triggers()`). tests/batches/scheduling/test_backlog.py fails if they are gone.

Revision ID: 0006
Revises: 0005
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COUNTS = ("pending", "handed_back", "retrying", "in_flight")  # classes 1..4, in order
# app.batches.models: the same predicates (ItemStatus values) on the same indexes.
WAITING = "enqueued_at IS NULL AND status IN ('pending', 'retrying')"
RETRY_WAITING = "enqueued_at IS NULL AND status = 'retrying'"
TRIGGERS = ("dispatch_counts_insert", "dispatch_counts_update", "dispatch_counts_delete")
MOVED_BY = "status, enqueued_at, lease_expires_at, provider_batch_id"  # what a class reads


def item_class(row: str) -> str:
    """The class (0-4) of an item as SQL; `row` is "NEW.", "OLD." or "" (both dialects)."""
    status, sent, lease, lane = (f"{row}{c}" for c in
                                 ("status", "enqueued_at", "lease_expires_at", "provider_batch_id"))
    return (f"(CASE WHEN {status} = 'pending' AND {sent} IS NULL AND {lane} IS NULL THEN 1"
            f" WHEN {status} = 'pending' AND {sent} IS NULL THEN 2"
            f" WHEN {status} = 'retrying' AND {sent} IS NULL THEN 3"
            f" WHEN {status} IN ('pending', 'retrying')"
            f" OR ({status} = 'processing' AND {lease} IS NOT NULL) THEN 4 ELSE 0 END)")


def _deltas(old: str, new: str, to_int: str = "") -> str:
    """(new is class k) - (old is class k) for each count, as SQL; `to_int` casts a boolean."""
    return ", ".join(f"({new} = {k}){to_int} - ({old} = {k}){to_int}"
                     for k in range(1, len(COUNTS) + 1))


def _upsert_set() -> str:
    return ", ".join(f"{c} = dispatch_counts.{c} + excluded.{c}" for c in COUNTS)


def _sqlite_triggers() -> list[str]:
    columns = ", ".join(COUNTS)
    upsert = f"ON CONFLICT (task_id, writer) DO UPDATE SET {_upsert_set()}"
    # SQLite has no variables in triggers: the two classes come from a one-row subquery
    # (`WHERE true` tells its parser the ON CONFLICT belongs to the INSERT, not a join).
    return [
        f"""CREATE TRIGGER dispatch_counts_insert AFTER INSERT ON generation_items
            WHEN {item_class("NEW.")} <> 0 BEGIN
            INSERT INTO dispatch_counts (task_id, writer, {columns})
            SELECT NEW.task_id, 'items', {_deltas("0", "n")}
            FROM (SELECT {item_class("NEW.")} AS n) WHERE true {upsert};
        END""",
        f"""CREATE TRIGGER dispatch_counts_update AFTER UPDATE OF {MOVED_BY} ON generation_items
            WHEN {item_class("OLD.")} <> {item_class("NEW.")} BEGIN
            INSERT INTO dispatch_counts (task_id, writer, {columns})
            SELECT NEW.task_id,
                   CASE WHEN o IN (1, 2, 3) AND n = 4 AND OLD.status = NEW.status
                        THEN 'feeder' ELSE 'items' END,
                   {_deltas("o", "n")}
            FROM (SELECT {item_class("OLD.")} AS o, {item_class("NEW.")} AS n) WHERE true
            {upsert};
        END""",
        # Items go with their batch (ON DELETE CASCADE); then this updates nothing.
        f"""CREATE TRIGGER dispatch_counts_delete AFTER DELETE ON generation_items
            WHEN {item_class("OLD.")} <> 0 BEGIN
            UPDATE dispatch_counts SET {", ".join(f"{c} = {c} - ({item_class('OLD.')} = {k})"
                                                   for k, c in enumerate(COUNTS, 1))}
            WHERE task_id = OLD.task_id AND writer = 'items';
        END""",
    ]


_PG_CLASS = f"""
CREATE FUNCTION dispatch_item_class(status text, enqueued_at timestamptz,
                                    lease_expires_at timestamptz, provider_batch_id text)
RETURNS integer LANGUAGE sql IMMUTABLE AS $$ SELECT {item_class("")} $$"""

_PG_COUNT = f"""
CREATE FUNCTION dispatch_count_item() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    o integer := 0;
    n integer := 0;
    who text := 'items';
BEGIN
    IF TG_OP <> 'INSERT' THEN
        o := dispatch_item_class(OLD.status, OLD.enqueued_at, OLD.lease_expires_at,
                                 OLD.provider_batch_id);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        n := dispatch_item_class(NEW.status, NEW.enqueued_at, NEW.lease_expires_at,
                                 NEW.provider_batch_id);
    END IF;
    IF o = n THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'DELETE' THEN  -- with its batch (ON DELETE CASCADE): then this updates nothing
        UPDATE dispatch_counts SET {", ".join(f"{c} = {c} - (o = {k})::int"
                                              for k, c in enumerate(COUNTS, 1))}
        WHERE task_id = OLD.task_id AND writer = 'items';
        RETURN NULL;
    END IF;
    IF TG_OP = 'UPDATE' THEN
        IF o IN (1, 2, 3) AND n = 4 AND OLD.status = NEW.status THEN
            who := 'feeder';
        END IF;
    END IF;
    IF who = 'items' THEN
        -- The batch's row lock first, as the transitions that take it (state.lock_batch) do:
        -- a counts row locked before its batch's row could deadlock with them.
        PERFORM 1 FROM ai_generation_tasks WHERE id = NEW.task_id FOR NO KEY UPDATE;
    END IF;
    INSERT INTO dispatch_counts (task_id, writer, {", ".join(COUNTS)})
    VALUES (NEW.task_id, who, {_deltas("o", "n", "::int")})
    ON CONFLICT (task_id, writer) DO UPDATE SET {_upsert_set()};
    RETURN NULL;
END $$"""

# A batch's items are inserted in one statement: counted once per statement, not per row.
_PG_COUNT_INSERTED = f"""
CREATE FUNCTION dispatch_count_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM ai_generation_tasks WHERE id IN (SELECT task_id FROM new_items)
        ORDER BY id FOR NO KEY UPDATE;
    INSERT INTO dispatch_counts (task_id, writer, {", ".join(COUNTS)})
    SELECT task_id, 'items', {", ".join(f"sum((cls = {k})::int)"
                                        for k in range(1, len(COUNTS) + 1))}
    FROM (SELECT task_id, dispatch_item_class(status, enqueued_at, lease_expires_at,
                                              provider_batch_id) AS cls
          FROM new_items) AS inserted
    WHERE cls <> 0
    GROUP BY task_id
    ON CONFLICT (task_id, writer) DO UPDATE SET {_upsert_set()};
    RETURN NULL;
END $$"""

_PG_ARGS = "{r}.status, {r}.enqueued_at, {r}.lease_expires_at, {r}.provider_batch_id"
_PG_TRIGGERS = [
    "CREATE TRIGGER dispatch_counts_insert AFTER INSERT ON generation_items "
    "REFERENCING NEW TABLE AS new_items FOR EACH STATEMENT "
    "EXECUTE FUNCTION dispatch_count_inserted()",
    # The WHEN runs without calling the function: a claim or a heartbeat costs next to nothing.
    f"CREATE TRIGGER dispatch_counts_update AFTER UPDATE OF {MOVED_BY} ON generation_items "
    f"FOR EACH ROW WHEN (dispatch_item_class({_PG_ARGS.format(r='OLD')}) "
    f"IS DISTINCT FROM dispatch_item_class({_PG_ARGS.format(r='NEW')})) "
    "EXECUTE FUNCTION dispatch_count_item()",
    "CREATE TRIGGER dispatch_counts_delete AFTER DELETE ON generation_items "
    "FOR EACH ROW EXECUTE FUNCTION dispatch_count_item()",
]


def upgrade() -> None:
    op.create_table(
        "dispatch_counts",
        sa.Column("task_id", sa.String(32),
                  sa.ForeignKey("ai_generation_tasks.id", ondelete="CASCADE"), nullable=False),
        sa.Column("writer", sa.String(8), nullable=False),
        *(sa.Column(c, sa.Integer(), nullable=False, server_default="0") for c in COUNTS),
        sa.PrimaryKeyConstraint("task_id", "writer"),
    )
    # Not in batch mode: on SQLite that could recreate the table (and drop triggers).
    op.create_index("ix_item_waiting", "generation_items", ["task_id", "index"],
                    sqlite_where=sa.text(WAITING), postgresql_where=sa.text(WAITING))
    op.create_index("ix_item_retry_due", "generation_items", ["task_id", "next_attempt_at"],
                    sqlite_where=sa.text(RETRY_WAITING), postgresql_where=sa.text(RETRY_WAITING))
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for sql in _sqlite_triggers():
            op.execute(sql)
    elif dialect == "postgresql":
        op.execute(_PG_CLASS)
        op.execute(_PG_COUNT)
        op.execute(_PG_COUNT_INSERTED)
        for sql in _PG_TRIGGERS:
            op.execute(sql)
    # The items already there (the triggers count from now on).
    sums = ", ".join(f"SUM(CASE WHEN cls = {k} THEN 1 ELSE 0 END)"
                     for k in range(1, len(COUNTS) + 1))
    op.execute(f"INSERT INTO dispatch_counts (task_id, writer, {', '.join(COUNTS)}) "
               f"SELECT task_id, 'items', {sums} "
               f"FROM (SELECT task_id, {item_class('')} AS cls FROM generation_items) AS items "
               "GROUP BY task_id")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}" if dialect == "sqlite"
                   else f"DROP TRIGGER IF EXISTS {name} ON generation_items")
    if dialect == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS dispatch_count_inserted()")
        op.execute("DROP FUNCTION IF EXISTS dispatch_count_item()")
        op.execute("DROP FUNCTION IF EXISTS dispatch_item_class(text, timestamptz, timestamptz, "
                   "text)")
    op.drop_index("ix_item_retry_due", "generation_items")
    op.drop_index("ix_item_waiting", "generation_items")
    op.drop_table("dispatch_counts")
