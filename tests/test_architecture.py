"""The house's rules (ARCHITECTURE.md), checked against the code: a forbidden import or a
reach into the engine from a platform adapter fails here with file and line."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PLATFORM_LIBRARIES = ("discord", "nio", "telegram", "pydle", "aiohttp", "httpx", "yarl")
PLATFORMS = ("console", "discord", "irc", "matrix", "telegram")
# What a platform package may use of the core: the vocabulary and the host, never the
# engine's insides, the store, or a feature.
CORE_FOR_ADAPTERS = (
    "bot.core.actions",
    "bot.config.community",
    "bot.engine.delivery",
    "bot.core.durations",
    "bot.core.errors",
    "bot.core.events",
    "bot.engine.host",
    "bot.core.jsontext",
    "bot.i18n",
    "bot.core.text",
    "bot.config.fields",
    "bot.config.validate",
    "bot.core.yamlsource",
)


# The layers, bottom first (ARCHITECTURE.md): a module imports only from its own layer
# or one below. ``bot`` itself (the version) is below all.
LAYERS = (
    ("bot.core",),
    ("bot.store", "bot.conduct"),
    ("bot.i18n",),
    ("bot.config",),
    ("bot.dialogs",),
    ("bot.engine",),
    ("bot.features",),
    ("bot.app",),
    ("adapters",),
)
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import in ``path``, relative imports resolved."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            # ``from bot.config import validate`` imports bot.config.validate: name what is taken.
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def test_the_core_imports_no_adapter_and_no_platform_library() -> None:
    wrong = [
        f"{path.relative_to(ROOT)}:{line}: {module}"
        for path in sorted((ROOT / "bot").rglob("*.py"))
        for line, module in imports(path)
        if within(module, "adapters") or any(within(module, lib) for lib in PLATFORM_LIBRARIES)
    ]
    assert wrong == []


def test_a_platform_package_uses_only_the_host_and_the_core_vocabulary() -> None:
    wrong = []
    for platform in PLATFORMS:
        others = [f"adapters.{p}" for p in PLATFORMS if p != platform]
        for path in sorted((ROOT / "adapters" / platform).glob("*.py")):
            for line, module in imports(path):
                if platform == "console" and path.name == "session.py":
                    continue  # the console community builds its own engine: it is a host
                foreign_core = within(module, "bot") and not any(
                    within(module, allowed) for allowed in CORE_FOR_ADAPTERS
                )
                if foreign_core or any(within(module, other) for other in others):
                    wrong.append(f"{path.relative_to(ROOT)}:{line}: {module}")
    assert wrong == []


def test_no_platform_adapter_reaches_into_the_engine() -> None:
    """Adapters get what they need as host methods, never ``host.engine.services...``."""
    wrong = []
    for platform in ("discord", "irc", "matrix", "telegram"):
        for path in sorted((ROOT / "adapters" / platform).glob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Attribute) and node.attr in ("engine", "services"):
                    wrong.append(f"{path.relative_to(ROOT)}:{node.lineno}: .{node.attr}")
    assert wrong == []


def test_architecture_page_names_every_feature_and_platform() -> None:
    page = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    features = [p.name for p in (ROOT / "bot" / "features").iterdir() if p.is_dir()]
    platforms = [p.name for p in (ROOT / "adapters").iterdir() if (p / "__init__.py").exists()]
    for name in [*features, *platforms]:
        if name != "__pycache__":
            assert name in page, name


def source_files() -> list[Path]:
    return sorted([*(ROOT / "bot").rglob("*.py"), *(ROOT / "adapters").rglob("*.py")])


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str) -> int | None:
    for number, packages in enumerate(LAYERS):
        if any(within(module, package) for package in packages):
            return number
    return None


def test_imports_only_go_down_the_layers() -> None:
    upward = []
    for path in source_files():
        mine = layer_of(module_name(path))
        for line, module in imports(path):
            theirs = layer_of(module)
            if mine is not None and theirs is not None and theirs > mine:
                upward.append(
                    f"{path.relative_to(ROOT)}:{line}: {module} (layer {theirs} > {mine})"
                )
    assert upward == []


def import_graph() -> dict[str, set[str]]:
    """Module -> the project modules it imports (type-only imports too: a circle of
    types is still a circle a reader has to untangle)."""
    known = {module_name(path): path for path in source_files()}
    graph: dict[str, set[str]] = {}
    for name, path in known.items():
        targets = set()
        for _, module in imports(path):
            # ``from a.b import c``: the module a.b.c when it exists, else a.b.
            while module and module not in known:
                module = module.rpartition(".")[0]
            if module and module != name and not name.startswith(module + "."):
                targets.add(module)
        graph[name] = targets
    return graph


def find_circle(graph: dict[str, set[str]]) -> list[str]:
    """One circle of imports, as the modules around it, or [] when there is none."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (found := visit(target)):
                return found
        path.pop()
        state[node] = 2
        return []

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return []


def test_no_circle_of_imports() -> None:
    assert find_circle(import_graph()) == []


def test_a_circle_is_found() -> None:
    assert find_circle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert find_circle({"a": {"b"}, "b": set()}) == []


def test_modules_and_functions_stay_small() -> None:
    too_long = []
    for path in source_files():
        text = path.read_text(encoding="utf-8")
        if len(text.splitlines()) > MAX_MODULE_LINES:
            too_long.append(f"{path.relative_to(ROOT)}: {len(text.splitlines())} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    where = f"{path.relative_to(ROOT)}:{node.lineno}"
                    too_long.append(f"{where}: {node.name} has {length} lines")
    assert too_long == []
