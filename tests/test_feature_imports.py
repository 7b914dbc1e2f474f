"""Features are wings: the core imports none of them by name, and no feature imports
another. Only the wiring (bot/features/__init__.py, which lists them, and bot/app.py,
which hands the list to the core) names features."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The places that may name features.
WIRING = {"bot/features/__init__.py", "bot/app.py"}
# (importing feature, imported feature) pairs allowed to depend on each other directly.
# None today: privacy ends mediations through the hooks mediation declares.
ALLOWED_PAIRS: set[tuple[str, str]] = set()


def imported_features(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, feature name) for every import of ``bot.features`` or a feature in it
    ("" for the package itself)."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        modules: list[str] = []
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            if node.module == "bot":
                modules = [f"bot.{alias.name}" for alias in node.names]
            elif node.module == "bot.features":
                modules = [f"bot.features.{alias.name}" for alias in node.names]
            else:
                modules = [node.module]
        for module in modules:
            parts = module.split(".")
            if parts[:2] == ["bot", "features"]:
                found.append((node.lineno, parts[2] if len(parts) > 2 else ""))
    return found


def forbidden_imports(root: Path) -> list[str]:
    problems: list[str] = []
    for path in sorted((root / "bot").rglob("*.py")):
        name = path.relative_to(root).as_posix()
        if name in WIRING:
            continue
        parts = name.split("/")
        own = parts[2] if parts[:2] == ["bot", "features"] and len(parts) > 3 else None
        for line, feature in imported_features(ast.parse(path.read_text("utf-8"))):
            if own is None:
                problems.append(f"{name}:{line}: the core imports bot.features.{feature}")
            elif feature != own and (own, feature) not in ALLOWED_PAIRS:
                problems.append(f"{name}:{line}: feature {own} imports feature {feature}")
    return problems


def test_no_core_module_and_no_feature_imports_a_feature_by_name() -> None:
    assert forbidden_imports(ROOT) == []


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, "utf-8")
    return tmp_path


def test_a_forbidden_import_is_found_with_file_and_line(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "bot/features/__init__.py": "from bot.features import mediation\n",
            "bot/app.py": "from bot.features import all_features\n",
            "bot/engine/engine.py": "import asyncio\nfrom bot.features.mediation import cases\n",
            "bot/engine/dispatch.py": "from bot.features import reports\n",
            "bot/features/mediation/cases.py": "from bot.features.mediation import agreement\n",
            "bot/features/privacy/actions.py": "\nimport bot.features.mediation.session\n",
        },
    )
    assert forbidden_imports(root) == [
        "bot/engine/dispatch.py:1: the core imports bot.features.reports",
        "bot/engine/engine.py:2: the core imports bot.features.mediation",
        "bot/features/privacy/actions.py:2: feature privacy imports feature mediation",
    ]


def test_every_feature_package_exports_one_feature_record() -> None:
    from bot.engine.turn import Feature
    from bot.features import FEATURES

    packages = {p.parent.name for p in (ROOT / "bot" / "features").glob("*/__init__.py")}
    assert all(isinstance(feature, Feature) for feature in FEATURES)
    assert {feature.name for feature in FEATURES} == packages
