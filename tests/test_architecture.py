"""The rooms keep their doors: the pure rooms never reach up into the engine, the store or the event loop.

docs/ARCHITECTURE.md draws the rooms; this walks every import of every product module with ``ast`` (imports
inside functions included, since a lazy import is still a dependency) and fails naming the module, the line
and the import that crosses a wall. ``pacing/`` and the ``compliance/`` rules run unchanged in the engine, in
``dialer simulate`` and in the benchmarks, which only holds while they stay free of I/O; ``ami/`` knows AMI
and nothing of campaigns.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# What the pure rooms must not import: the engine, the lists, the command line, the store driver, the loop.
UPPER_ROOMS = ("dialer", "lists", "cli")
IO = ("asyncpg", "asyncio")


@dataclass(frozen=True)
class Import:
    module: str      # the importing module, dotted
    line: int
    target: str      # what it imports, dotted (``from a import b`` gives ``a.b``)


@dataclass(frozen=True)
class Rule:
    name: str
    folder: str                       # the room, relative to the repository root ("" for the root's cli*.py)
    forbidden: tuple[str, ...]        # dotted prefixes; "cli" also forbids every ``cli_*`` module
    exempt: tuple[str, ...] = ()      # sub-folders or files of the room the rule does not cover
    only: tuple[str, ...] = ()        # when given, the rule covers these files of the room only


RULES = (
    Rule("pacing imports nothing of ours and does no I/O", "pacing",
         (*UPPER_ROOMS, *IO, "ami", "compliance", "config")),
    Rule("the compliance rules are pure: no engine, lists, store or loop", "compliance",
         (*UPPER_ROOMS, *IO, "compliance.store"), exempt=("compliance/store",)),
    Rule("ami knows AMI and nothing of the engine, the lists or the store", "ami", (*UPPER_ROOMS, "asyncpg")),
    # The AMI client and the simulator own sockets and tasks; the wire format and the typed port do not.
    Rule("ami's wire format and typed port are sans-IO", "ami", IO,
         only=("ami/wire.py", "ami/events.py", "ami/pbx.py")),
    Rule("lists never reach up into the engine or the command line", "lists", ("dialer", "cli")),
    Rule("the engine never reaches up into the command line", "dialer", ("cli",)),
)


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, root: Path) -> Iterator[Import]:
    """Every import in the module, absolute, with ``from a import b`` read as ``a.b`` as well as ``a``."""
    module = module_name(path, root)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(module, node.lineno, alias.name)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            yield Import(module, node.lineno, base)
            for alias in node.names:
                yield Import(module, node.lineno, f"{base}.{alias.name}")


def crosses(target: str, forbidden: str) -> bool:
    if forbidden == "cli":
        top = target.split(".")[0]
        return top == "cli" or top.startswith("cli_")
    return target == forbidden or target.startswith(forbidden + ".")


def modules_of(rule: Rule, root: Path) -> list[Path]:
    files = sorted((root / rule.folder).rglob("*.py"))
    files = [f for f in files if "__pycache__" not in f.parts]
    rel = [f.relative_to(root).as_posix() for f in files]
    if rule.only:
        return [f for f, r in zip(files, rel, strict=True) if r in rule.only]
    return [f for f, r in zip(files, rel, strict=True)
            if not any(r == e or r.startswith(e + "/") for e in rule.exempt)]


def violations(rule: Rule, root: Path) -> list[str]:
    return [f"{imp.module}:{imp.line} imports {imp.target}"
            for path in modules_of(rule, root) for imp in imports_of(path, root)
            for forbidden in rule.forbidden if crosses(imp.target, forbidden)]


@pytest.mark.parametrize("rule", RULES, ids=[r.name for r in RULES])
def test_rooms_import_only_what_the_architecture_allows(rule: Rule) -> None:
    covered = modules_of(rule, ROOT)
    assert covered, f"{rule.name}: no module under {rule.folder}/ (moved? update the rule)"
    if rule.only:
        present = {p.relative_to(ROOT).as_posix() for p in covered}
        assert present == set(rule.only), f"{rule.name}: missing {sorted(set(rule.only) - present)}"
    assert violations(rule, ROOT) == [], rule.name


def test_the_walk_catches_lazy_relative_and_from_imports(tmp_path: Path) -> None:
    room = tmp_path / "pacing"
    (room / "inner").mkdir(parents=True)
    (room / "__init__.py").write_text("")
    (room / "inner" / "__init__.py").write_text("")
    (room / "inner" / "math.py").write_text(
        "from __future__ import annotations\n"
        "from .. import helpers\n"
        "def later():\n"
        "    from dialer import engine\n"
        "    import asyncio.tasks\n"
        "    from cli.run import run\n")
    (room / "clean.py").write_text("import math\nfrom pacing.inner import math as m\nimport client_lib\n")
    found = violations(Rule("test", "pacing", ("dialer", "cli", "asyncio", "pacing.helpers")), tmp_path)
    assert found == ["pacing.inner.math:2 imports pacing.helpers", "pacing.inner.math:4 imports dialer",
                     "pacing.inner.math:4 imports dialer.engine", "pacing.inner.math:5 imports asyncio.tasks",
                     "pacing.inner.math:6 imports cli.run", "pacing.inner.math:6 imports cli.run.run"]


def test_every_test_folder_is_a_package_and_every_test_file_name_is_unique() -> None:
    """Two ``test_store.py`` in folders without ``__init__.py`` collide under pytest's default import mode, and
    a helper imported as ``tests.x.helper`` and again by its bare name runs twice, with two copies of its state."""
    tests = ROOT / "tests"
    sources = [p for p in tests.rglob("*.py") if "__pycache__" not in p.parts]
    folders = {p.parent for p in sources}
    assert sorted(str(f.relative_to(ROOT)) for f in folders if not (f / "__init__.py").exists()) == []
    names: dict[str, list[str]] = {}
    for p in sources:
        if p.name.startswith("test_"):
            names.setdefault(p.name, []).append(str(p.relative_to(ROOT)))
    assert {name: paths for name, paths in names.items() if len(paths) > 1} == {}


# ---- no import loop among the engine's modules ---------------------------------------------------------


def import_graph(folder: str, root: Path) -> dict[str, set[str]]:
    """Module → the modules of the same room it imports, every import counted: one under ``if TYPE_CHECKING:``
    too (a loop is a loop; a Protocol in the lower module breaks it), and a lazy one inside a function."""
    files = [p for p in sorted((root / folder).rglob("*.py")) if "__pycache__" not in p.parts]
    names = {module_name(p, root) for p in files}
    graph: dict[str, set[str]] = {}
    for path in files:
        module = module_name(path, root)
        targets = set()
        for imp in imports_of(path, root):
            target = imp.target
            while target and target not in names:      # ``from a.b import C`` names the module a.b
                target = target.rpartition(".")[0]
            if target and target != module:
                targets.add(target)
        graph[module] = targets
    return graph


def loops(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan), each sorted: every import loop."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for target in sorted(graph.get(module, ())):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return sorted(found)


def test_no_import_loop_among_the_engine_modules() -> None:
    graph = import_graph("dialer", ROOT)
    assert len(graph) > 20, "dialer/ moved? update the check"
    found = loops(graph)
    described = [" ↔ ".join(f"{m} → {sorted(graph[m] & set(group))}" for m in group) for group in found]
    assert described == []


def test_the_loop_check_counts_type_checking_imports(tmp_path: Path) -> None:
    room = tmp_path / "dialer"
    room.mkdir()
    (room / "__init__.py").write_text("")
    (room / "engine.py").write_text("from dialer.recovery import Recovery\n")
    (room / "recovery.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from dialer.engine import Engine\n")
    (room / "call.py").write_text("import dialer.engine\n")
    assert loops(import_graph("dialer", tmp_path)) == [["dialer.engine", "dialer.recovery"]]


# ---- modules short enough to read in one sitting ----------------------------------------------------------

PRODUCT_ROOMS = ("cli", "dialer", "lists", "compliance", "pacing", "ami", "config", "people")
MAX_LINES = 400
# Modules still over the limit, each with the reason it is allowed for now ("path": why); remove it once split.
TOO_LONG_FOR_NOW: set[str] = set()


def test_no_product_module_over_400_lines() -> None:
    over = sorted(path.relative_to(ROOT).as_posix() for room in PRODUCT_ROOMS for path in (ROOT / room).rglob("*.py")
                  if "__pycache__" not in path.parts
                  and len(path.read_text(encoding="utf-8").splitlines()) > MAX_LINES)
    assert [p for p in over if p not in TOO_LONG_FOR_NOW] == []
    assert sorted(TOO_LONG_FOR_NOW - set(over)) == [], "split now: remove it from TOO_LONG_FOR_NOW"


# ---- states change through their tables only ----------------------------------------------------------

# A call's state moves only in ``Call._move`` (the ``TRANSITIONS`` table), an operator's only in ``Floor.set_state``
# (its ``TRANSITIONS`` table, which tells its listeners): an assignment anywhere else would skip the table and the
# listeners. What the floor's live sections read of an operator (its phone, its handle's start, its campaigns) is
# written only by the floor too, and a call is followed (``Engine.follow``) rather than put in ``calls`` by hand:
# a write around them would leave the pacing's figures wrong (dialer/sections.py).
STATE_WRITERS = {"dialer/call.py", "dialer/floor.py"}
OPERATOR_FIGURES = {"state", "since", "phone_up", "talk_started", "time_in", "seat", "stamp"}
SET_CHANGES = {"add", "discard", "remove", "clear", "update", "pop", "difference_update", "intersection_update"}


def writes_around_the_tables(rel: str, source: str) -> list[str]:
    writes = []
    for node in ast.walk(ast.parse(source)):
        targets = (node.targets if isinstance(node, ast.Assign)
                   else [node.target] if isinstance(node, ast.AugAssign | ast.AnnAssign) else [])
        for t in targets:
            if rel not in STATE_WRITERS and isinstance(t, ast.Attribute) and t.attr in OPERATOR_FIGURES:
                writes.append(f"{rel}:{node.lineno} .{t.attr} =")
            if (rel != "dialer/engine.py" and isinstance(t, ast.Subscript) and isinstance(t.value, ast.Attribute)
                    and t.value.attr == "calls"):
                writes.append(f"{rel}:{node.lineno} .calls[…] =")
        if (rel not in STATE_WRITERS and isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in SET_CHANGES and isinstance(node.func.value, ast.Attribute)
                and node.func.value.attr == "campaigns"):
            writes.append(f"{rel}:{node.lineno} .campaigns.{node.func.attr}()")
    return writes


def test_nothing_in_the_engine_writes_a_state_around_its_transitions() -> None:
    writes = []
    for path in sorted((ROOT / "dialer").rglob("*.py")):
        if "__pycache__" not in path.parts:
            rel = path.relative_to(ROOT).as_posix()
            writes += writes_around_the_tables(rel, path.read_text(encoding="utf-8"))
    assert writes == []


# ---- the engine's SQL lives in the store ----------------------------------------------------------------

# A statement is a string that opens with one of these words, or a call of one of the driver's query methods:
# either one in a module of dialer/ outside dialer/store/, or of cli/, means SQL sits beside behaviour.
SQL_WORDS = ("SELECT", "INSERT", "UPDATE", "DELETE", "WITH", "BEGIN", "COMMIT", "ROLLBACK", "SET", "DROP", "CREATE",
             "NOTIFY", "LISTEN", "TRUNCATE", "ALTER")
QUERY_METHODS = {"fetch", "fetchrow", "fetchval", "execute", "executemany", "copy_records_to_table",
                 "copy_to_table", "copy_from_query", "copy_from_table", "cursor", "prepare"}
SQL_FREE_ROOMS = ("dialer", "cli")
STORE_FOLDERS = ("dialer/store",)


def _opens_with_sql(text: str) -> bool:
    words = text.split(None, 1)
    return bool(words) and words[0].rstrip(";").upper() in SQL_WORDS and words[0].isupper()


def _websocket_handshake(func: ast.Attribute) -> bool:
    """``websocket.prepare(request)``: aiohttp's handshake of a browser's websocket (dialer serve), no query."""
    return func.attr == "prepare" and isinstance(func.value, ast.Name) and func.value.id == "websocket"


def sql_in(path: Path, rel: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and _opens_with_sql(node.value):
            found.append(f"{rel}:{node.lineno} statement {node.value.split(None, 1)[0]}")
        elif isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.Constant) \
                and _opens_with_sql(str(node.values[0].value)):
            found.append(f"{rel}:{node.lineno} statement {str(node.values[0].value).split(None, 1)[0]}")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in QUERY_METHODS \
                and not _websocket_handshake(node.func):
            found.append(f"{rel}:{node.lineno} calls .{node.func.attr}()")
    return found


def sql_outside_the_store(root: Path) -> list[str]:
    found = []
    for path in sorted(p for room in SQL_FREE_ROOMS for p in (root / room).rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if "__pycache__" in path.parts or any(rel.startswith(f + "/") for f in STORE_FOLDERS):
            continue
        # an f-string's pieces are constants too: skip those already counted through their JoinedStr
        found += sorted(set(sql_in(path, rel)))
    return found


def test_no_sql_in_the_engine_or_the_command_line_outside_the_store() -> None:
    """The engine's and the commands' modules read as behaviour; their statements are named functions in
    ``dialer/store/``, ``lists/``, ``compliance/store/`` or ``people/store.py`` (docs/ARCHITECTURE.md, where
    SQL lives)."""
    assert sql_outside_the_store(ROOT) == []


def test_the_sql_check_finds_statements_and_queries(tmp_path: Path) -> None:
    room = tmp_path / "dialer"
    (room / "store").mkdir(parents=True)
    (room / "store" / "rows.py").write_text("async def f(c):\n    return await c.fetch('SELECT 1')\n")
    (room / "engine.py").write_text(
        "Q = '''\n  UPDATE lead SET x = 1'''\n"
        "async def f(conn, schema):\n"
        "    await conn.execute(f'DROP SCHEMA {schema}')\n"
        "    return 'Select a campaign', 'SELECTED', conn.fetchval\n")
    (room / "view.py").write_text("async def f(pool):\n    return await pool.fetchrow(query)\n")
    assert sql_outside_the_store(tmp_path) == [
        "dialer/engine.py:1 statement UPDATE", "dialer/engine.py:4 calls .execute()",
        "dialer/engine.py:4 statement DROP", "dialer/view.py:2 calls .fetchrow()"]


def test_the_state_check_sees_writes_around_the_operator_table() -> None:
    source = ("operator.phone_up = False\noperator.talk_started = now\noperator.campaigns.add(3)\n"
              "engine.calls[call.channel_id] = call\ncall.state = CallState.ENDED\n")
    assert len(writes_around_the_tables("dialer/phones.py", source)) == 5
    assert writes_around_the_tables("dialer/floor.py", source) == ["dialer/floor.py:4 .calls[…] ="]
