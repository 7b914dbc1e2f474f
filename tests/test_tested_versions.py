"""The test environment is reproducible: one command, pinned by a committed file."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins() -> dict[str, str]:
    found = {}
    for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"constraints.txt: {line!r} is not an exact pin"
            found[canonical(name)] = version
    return found


def requirement_names(extra: str | None = None) -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = project["optional-dependencies"][extra] if extra else project["dependencies"]
    names = set()
    for requirement in requirements:
        match = NAME.match(requirement)
        assert match is not None
        if canonical(match.group()) == "concord-bot":  # the project's own extras
            for inner in re.findall(r"\[([^\]]+)\]", requirement)[0].split(","):
                names |= requirement_names(inner.strip())
        else:
            names.add(canonical(match.group()))
    return names


def test_readme_test_command_is_what_ci_runs_and_it_uses_the_pins() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    commands = re.findall(r"^python3 -m venv \.venv .*pytest -q$", readme, re.MULTILINE)
    assert len(commands) == 1, commands
    assert "-c constraints.txt" in commands[0]
    assert commands[0].replace("pip install", "pip install -q") in ci


def test_every_dependency_of_the_test_command_is_pinned() -> None:
    pinned = pins()
    needed = requirement_names() | requirement_names("test")
    assert needed - set(pinned) == set()
    assert "concord-bot" not in pinned  # the project itself is what is tested


def test_users_keep_open_ranges() -> None:
    """Pins are for the tests only: an install for use takes current releases."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    project = tomllib.loads(text)["project"]
    for requirement in project["dependencies"]:
        assert "==" not in requirement, requirement
