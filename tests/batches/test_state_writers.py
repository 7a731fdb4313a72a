"""app/batches/state.py is the only writer of a batch's and an item's status, counts, progress
and timestamps (docs/architecture.md, "The state machines"): every module of app/ is parsed and
none other may write those columns, so a transition cannot grow a second copy somewhere else.

What counts as a write, on AIGenerationTask (a batch) or GenerationItem (an item):
- `batch.status = ...`, `item.attempts += 1`, a tuple target, on a name that is a batch or an
  item (named batch/item/..., or annotated with one of the models in that module);
- `setattr(batch, ...)` (with any name not known to be harmless);
- `update(AIGenerationTask|GenerationItem)....values(...)` naming a guarded column, or
  `**values` (which may name any), and raw SQL `UPDATE generation_items ...`;
- `AIGenerationTask(total=...)`: a new row's counts and status are set by state too;
- `delete(AIGenerationTask|GenerationItem)` or `session.delete(batch)`: removing batches is a
  transition too (state.delete_batches, used by app.batches.retention).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from app.batches.models import AIGenerationTask, GenerationItem

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "app"

BATCH_COLUMNS = frozenset({
    "status", "celery_status", "cancel_requested", "error", "paused_reason",
    "total", "completed", "failed", "cancelled", "regenerated", "needs_review", "cost_unknown",
    "prompt_tokens", "completion_tokens", "cost_usd", "progress",
    "created_at", "started_at", "finished_at", "last_progress_update", "resume_at",
})
ITEM_COLUMNS = frozenset({
    "status", "error", "worker", "attempts", "regenerations", "cost_usd", "provider_batch_id",
    "created_at", "started_at", "finished_at", "next_attempt_at", "lease_expires_at",
    "enqueued_at",
})
GUARDED = {"AIGenerationTask": BATCH_COLUMNS, "GenerationItem": ITEM_COLUMNS}
EVERY = BATCH_COLUMNS | ITEM_COLUMNS

STATE_MODULES = {
    "app/batches/state.py": EVERY,
    # The Batch API lane's own item transitions (app.batches.provider_lane).
    "app/batches/provider_lane/lane_state.py": EVERY,
    # The feeder's mark "sent" (docs/architecture.md: only the feeder sets enqueued_at, in the
    # transaction that decides to send the item); every reset to NULL is a state transition.
    "app/batches/scheduling/backlog.py": frozenset({"enqueued_at"}),
}

# A name that holds a batch or an item, by the project's naming (batch, item, locked_batch,
# out.item ...); names annotated with a model are added per module.
MODEL_NAME = re.compile(r"(^|_)(batch|item|batches|items)($|_)")
RAW_UPDATE = re.compile(r"\bupdate\s+(ai_generation_tasks|generation_items)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Write:
    path: str
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.what}"


def _name_of(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _model_of(node: ast.AST | None) -> str | None:
    """The guarded model a call's first argument or an annotation names, if any."""
    if node is None:
        return None
    for sub in ast.walk(node):
        name = _name_of(sub)
        if name in GUARDED:
            return name
        if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
            for model in GUARDED:
                if model in sub.value:
                    return model
    return None


class _Finder(ast.NodeVisitor):
    def __init__(self, path: str, tree: ast.AST) -> None:
        self.path = path
        self.found: list[tuple[int, str, frozenset[str]]] = []  # line, what, columns
        self.typed: set[str] = set()
        for node in ast.walk(tree):  # names annotated with a model anywhere in the module
            if isinstance(node, ast.arg) and _model_of(node.annotation):
                self.typed.add(node.arg)
            if (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
                    and _model_of(node.annotation)):
                self.typed.add(node.target.id)

    def _is_model(self, node: ast.AST) -> bool:
        name = _name_of(node)
        return name is not None and (name in self.typed or bool(MODEL_NAME.search(name)))

    def _record(self, node: ast.AST, what: str, columns: frozenset[str] | set[str]) -> None:
        self.found.append((getattr(node, "lineno", 0), what, frozenset(columns)))

    def _targets(self, node: ast.AST, targets: list[ast.expr]) -> None:
        for target in targets:
            for sub in ast.walk(target):
                if (isinstance(sub, ast.Attribute) and isinstance(sub.ctx, ast.Store)
                        and sub.attr in EVERY and self._is_model(sub.value)):
                    self._record(node, f"assigns {ast.unparse(sub)}", {sub.attr})

    def visit_Assign(self, node: ast.Assign) -> None:
        self._targets(node, node.targets)
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self._targets(node, [node.target])
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self._targets(node, [node.target])
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str) and RAW_UPDATE.search(node.value):
            self._record(node, "raw SQL UPDATE of a batch or item table", EVERY)

    def visit_Call(self, node: ast.Call) -> None:
        func = _name_of(node.func)
        if func == "setattr" and node.args and self._is_model(node.args[0]):
            name = node.args[1] if len(node.args) > 1 else None
            columns = ({name.value} & EVERY if isinstance(name, ast.Constant)
                       and isinstance(name.value, str) else EVERY)
            if columns:
                self._record(node, f"setattr on {ast.unparse(node.args[0])}", columns)
        elif func in GUARDED:
            self._keywords(node, f"creates {func}", GUARDED[func])
        elif func == "values" and isinstance(node.func, ast.Attribute):
            model = self._updated_model(node.func.value)
            if model is not None:
                self._keywords(node, f"update({model}).values", GUARDED[model])
        elif func == "delete" and node.args and _name_of(node.args[0]) in GUARDED:
            self._record(node, f"delete({_name_of(node.args[0])})", EVERY)
        elif (func == "delete" and isinstance(node.func, ast.Attribute) and node.args
              and self._is_model(node.args[0])):
            self._record(node, f"deletes {ast.unparse(node.args[0])}", EVERY)
        self.generic_visit(node)

    def _updated_model(self, chain: ast.AST) -> str | None:
        """`update(Model)` at the root of `update(Model).where(...)...`."""
        while True:
            if isinstance(chain, ast.Call):
                if _name_of(chain.func) == "update" and chain.args:
                    name = _name_of(chain.args[0])
                    return name if name in GUARDED else None
                chain = chain.func
            elif isinstance(chain, ast.Attribute):
                chain = chain.value
            else:
                return None

    def _keywords(self, node: ast.Call, what: str, guarded: frozenset[str]) -> None:
        named = {k.arg for k in node.keywords if k.arg is not None}
        dynamic = any(k.arg is None for k in node.keywords) or any(
            not isinstance(a, ast.Dict) or any(not isinstance(k, ast.Constant) for k in a.keys)
            for a in node.args)
        for arg in node.args:
            if isinstance(arg, ast.Dict):
                named |= {k.value for k in arg.keys if isinstance(k, ast.Constant)}
        columns = guarded if dynamic else named & guarded
        if columns:
            self._record(node, f"{what}({', '.join(sorted(columns))})", columns)


def writes(source: str, path: str) -> list[Write]:
    """The writes of guarded columns in one module's source that its allowance does not cover."""
    tree = ast.parse(source, filename=path)
    finder = _Finder(path, tree)
    finder.visit(tree)
    allowed = STATE_MODULES.get(path, frozenset())
    return [Write(path, line, what) for line, what, columns in finder.found
            if not columns <= allowed]


def _modules() -> list[Path]:
    return sorted(APP.rglob("*.py"))


def test_only_the_state_modules_write_status_counts_and_timestamps():
    found = [w for path in _modules()
             for w in writes(path.read_text(), path.relative_to(ROOT).as_posix())]
    assert not found, "move these writes into a transition of app/batches/state.py:\n" + \
        "\n".join(map(str, found))


def test_the_guarded_columns_are_columns_of_the_models():
    assert set(AIGenerationTask.__table__.columns.keys()) >= BATCH_COLUMNS
    assert set(GenerationItem.__table__.columns.keys()) >= ITEM_COLUMNS


def test_every_allowed_module_exists():
    assert all((ROOT / path).is_file() for path in STATE_MODULES)


# The checker itself: each kind of write is found outside state.py, and none inside it.
VIOLATIONS = {
    "attribute": "def f(batch):\n    batch.status = 'completed'\n",
    "augmented": "def f(item):\n    item.attempts += 1\n",
    "tuple target": "def f(b):\n    b.x, b.progress = 1, 2\n",  # annotated below
    "annotated name": "def f(row: AIGenerationTask):\n    row.finished_at = now\n",
    "nested name": "def f(out):\n    out.item.error = 'x'\n",
    "setattr": "def f(batch, name, value):\n    setattr(batch, name, value)\n",
    "update values": "update(GenerationItem).where(x).values(status='failed')\n",
    "update values dict": "update(AIGenerationTask).values({'progress': 3})\n",
    "update **values": "update(GenerationItem).where(x).values(**values)\n",
    "constructor": "AIGenerationTask(category='guide', total=3)\n",
    "delete": "session.execute(delete(AIGenerationTask).where(x))\n",
    "ORM delete": "def f(session, batch):\n    session.delete(batch)\n",
    "raw SQL": "session.execute(text('UPDATE generation_items SET status = 1'))\n",
}


@pytest.mark.parametrize("kind", sorted(VIOLATIONS))
def test_the_checker_finds_each_kind_of_write(kind):
    source = VIOLATIONS[kind]
    if kind == "tuple target":
        source = source.replace("(b)", "(b: AIGenerationTask)")
    assert writes(source, "app/batches/service.py"), kind
    assert not writes(source, "app/batches/state.py"), kind


def test_the_checker_leaves_other_writes_alone():
    harmless = (
        "def f(batch, article, schedule):\n"
        "    batch.extra = {}\n"  # not a guarded column
        "    batch.celery_task_id = 'x'\n"
        "    article.status = 'approved'\n"  # another domain's rows
        "    setattr(schedule, name, value)\n"
        "    setattr(batch, 'priority', 'high')\n"
        "update(Article).values(status='published')\n"
        "AIGenerationTask(category='guide', mode='batch')\n"
        "GenerationItem(index=0, title='t')\n"
    )
    assert writes(harmless, "app/batches/service.py") == []


def test_an_allowance_covers_only_its_columns():
    feeder_mark = "update(GenerationItem).where(x).values(enqueued_at=now)\n"
    assert not writes(feeder_mark, "app/batches/scheduling/backlog.py")
    status = "update(GenerationItem).where(x).values(status='failed')\n"
    assert writes(status, "app/batches/scheduling/backlog.py")
