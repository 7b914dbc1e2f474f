"""The house's rules (ARCHITECTURE.md), checked against the code: a forbidden import or a
reach into the engine from a platform adapter fails here with file and line."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PLATFORM_LIBRARIES = ("discord", "nio", "telegram", "aiohttp", "httpx", "yarl")
PLATFORMS = ("console", "discord", "matrix", "telegram")
# What a platform package may use of the core: the vocabulary and the host, never the
# engine's insides, the store, or a feature.
CORE_FOR_ADAPTERS = (
    "bot.actions",
    "bot.config",
    "bot.delivery",
    "bot.durations",
    "bot.errors",
    "bot.events",
    "bot.host",
    "bot.i18n",
    "bot.text",
    "bot.validate",
    "bot.yamlsource",
)


def imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import in ``path``, relative imports resolved."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            # ``from bot import validate`` imports bot.validate: name what is taken.
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
    for platform in ("discord", "matrix", "telegram"):
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
