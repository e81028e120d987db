"""The shape of the code, checked: no import circles (TYPE_CHECKING imports included), and each SDK at its edge."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("bot", "cards")


def modules() -> dict[str, Path]:
    """Every module of the bot, by dotted name."""
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


def imports(name: str, path: Path, known: frozenset[str] = frozenset()) -> set[str]:
    """Every module this one imports, wherever the import statement is (TYPE_CHECKING blocks and functions too).

    `from package import submodule` depends on the submodule; `from module import name` on the module.
    """
    is_package = path.name == "__init__.py"
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[: len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            for alias in node.names:
                found.add(f"{module}.{alias.name}" if f"{module}.{alias.name}" in known else module)
    return found


def internal_graph() -> dict[str, set[str]]:
    known = modules()
    graph = {}
    for name, path in known.items():
        graph[name] = {m for m in imports(name, path, frozenset(known)) if m in known and m != name}
    return graph


def test_there_are_no_import_circles():
    graph = internal_graph()
    # Importing a package runs its __init__, so a submodule reached through its package counts as that edge too.
    state: dict[str, int] = {}
    stack: list[str] = []
    circles = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                circles.append(stack[stack.index(target):] + [target])
            elif target not in state:
                visit(target)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert circles == [], "\n".join(" -> ".join(c) for c in circles)


def outside_users(prefixes: tuple[str, ...]) -> dict[str, set[str]]:
    """The bot's modules that import any of these external packages, with what they import."""
    users = {}
    for name, path in modules().items():
        hits = {m for m in imports(name, path) if m.split(".")[0] in prefixes}
        if hits:
            users[name] = hits
    return users


def test_only_the_botbuilder_adapter_imports_botbuilder():
    users = outside_users(("botbuilder", "botframework", "msrest"))
    assert users and all(name.startswith("bot.teams") for name in users), users


def test_only_the_agents_adapter_imports_the_agents_sdk():
    users = outside_users(("microsoft_agents",))
    assert all(name.startswith("bot.agents") for name in users), users


def test_only_storage_imports_azure_tables():
    users = outside_users(("azure",))
    tables = {n: m for n, m in users.items() if any(x.startswith("azure.data.tables") for x in m)}
    assert tables and all(name.startswith("bot.storage") for name in tables), tables


def test_cards_import_nothing_from_services_and_the_core_never_reads_references():
    graph = internal_graph()
    for name, targets in graph.items():
        if name.startswith("cards"):
            assert not any(t.startswith("bot.services") for t in targets), (name, targets)
        if name.startswith(("bot.core", "bot.commands", "bot.services", "bot.domain")):
            assert not any(t.startswith(("bot.web.references", "bot.teams", "bot.agents")) for t in targets), (name, targets)


def test_handlers_register_explicitly_not_on_import():
    for name, path in modules().items():
        if name.startswith("bot.commands"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            decorated = [n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
                         and any("command" in ast.unparse(d) or "verb" in ast.unparse(d) for d in n.decorator_list)]
            assert decorated == [], (name, decorated)
