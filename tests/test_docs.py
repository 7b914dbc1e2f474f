"""What the documentation promises, checked against the code: every settings key is
documented in its module's example, and the README's examples run as written."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from types import ModuleType

import pytest

from adapters.console.adapter import parse_line
from adapters.console.session import AdvancingClock, ConsoleSession
from adapters.discord import settings as discord_settings
from adapters.irc import settings as irc_settings
from adapters.matrix import settings as matrix_settings
from adapters.telegram import settings as telegram_settings
from bot.config.community import load_config
from bot.core.clock import ManualClock
from bot.core.errors import ConcordError

ROOT = Path(__file__).resolve().parents[1]
SETTINGS: dict[str, ModuleType] = {
    "discord": discord_settings,
    "irc": irc_settings,
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
        f"adapters/{name}/settings.py: missing from the docstring: "
        f"{sorted(set(module.KEYS) - documented)}; not accepted: "
        f"{sorted(documented - set(module.KEYS))}"
    )
    # The example is a valid configuration, as written.
    assert load_platform(tmp_path, block, name) is not None


# --- the README's examples, run as written ----------------------------------------------

README = (ROOT / "README.md").read_text("utf-8")


def code_blocks(text: str) -> list[str]:
    """The fenced blocks of a Markdown text, without their fences."""
    return re.findall(r"(?ms)^```[a-z]*\n(.*?)^```", text)


def section(title: str) -> str:
    start = README.index(f"\n## {title}")
    end = README.find("\n## ", start + 1)
    return README[start : end if end != -1 else None]


def table_first_cells(text: str) -> list[str]:
    """The first column of the rows of the first Markdown table in ``text``."""
    cells: list[str] = []
    in_table = False
    for line in text.splitlines():
        if line.startswith("|---"):
            in_table = True
        elif in_table and line.startswith("| "):
            cells.append(line.split(" | ")[0].removeprefix("| "))
        elif in_table:
            break
    return cells


def concord(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "adapters.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def test_the_readme_transcripts_pass_as_written(tmp_path: Path) -> None:
    transcripts = [b for b in code_blocks(README) if re.search(r"(?m)^> ", b)]
    assert transcripts
    for number, block in enumerate(transcripts):
        path = tmp_path / f"readme-{number}.txt"
        path.write_text(block, "utf-8")
        result = concord("chat", "--transcript", str(path))
        assert result.returncode == 0, result.stderr


async def test_every_console_example_in_the_readme_gets_a_visible_answer(
    tmp_path: Path,
) -> None:
    console = section("The console community")
    typed = [
        example for cell in table_first_cells(console) for example in re.findall(r"`([^`]+)`", cell)
    ]
    assert "ana joins" in typed and ":restart" in typed
    session = ConsoleSession(
        load_config(None), tmp_path / "c.db", AdvancingClock(ManualClock(), fixed=True)
    )
    try:
        await session.open()
        for line in typed:
            if line.startswith("#"):
                assert parse_line(line, "example") is None
                continue
            answer = await session.feed(line)  # a syntax error would raise
            assert answer and all(text.strip() for text in answer), line
    finally:
        session.close()


def test_the_readme_check_example_is_the_real_message(tmp_path: Path) -> None:
    [example] = [b for b in code_blocks(section("The console community")) if "concord:" in b]
    config = (ROOT / "community" / "concord.yaml").read_text("utf-8")
    assert "reminder_after: 2d" in config
    (tmp_path / "concord.yaml").write_text(
        config.replace("reminder_after: 2d", "reminder_after: soon"), "utf-8"
    )
    result = concord("check", "concord.yaml", cwd=tmp_path)
    assert result.returncode == 1 and result.stderr.strip() == example.strip()


def config_error(tmp_path: Path, body: str) -> str:
    path = tmp_path / "keys.yaml"
    path.write_text("community:\n  id: x\n  name: X\n" + body, "utf-8")
    try:
        load_config(path)
    except ConcordError as error:
        return str(error)
    return ""


def test_every_config_key_the_readme_names_is_accepted(tmp_path: Path) -> None:
    keys: list[str] = []
    for cell in table_first_cells(section("Configuration (`concord.yaml`)")):
        names = re.findall(r"`([a-z_.]+)`", cell)
        prefix = names[0].rpartition(".")[0]
        keys += [name if "." in name or not prefix else f"{prefix}.{name}" for name in names]
    assert len(keys) > 40 and "reports.reveal_approvals" in keys
    assert "unknown key" in config_error(tmp_path, "onboarding:\n  colour: blue\n")
    for key in keys:
        top, _, rest = key.partition(".")
        if top == "community":
            body = "" if rest in ("id", "name") else f"  {rest}: [[1]]\n"
        elif top == "platforms":
            body = f"platforms:\n  {rest}: {{}}\n"
        else:
            body = f"{top}:\n  {rest}: [[1]]\n" if rest else f"{top}: [[1]]\n"
        assert "unknown key" not in config_error(tmp_path, body), key


def test_the_readme_platform_example_is_a_valid_configuration(tmp_path: Path) -> None:
    [example] = [
        b
        for b in code_blocks(section("Running on Discord, Matrix, Telegram and IRC"))
        if b.startswith("platforms:")
    ]
    for name in SETTINGS:
        assert load_platform(tmp_path, example, name) is not None


async def test_the_readme_linking_transcript_passes_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.features.identity import codes
    from tests.identity_transcript import play

    [block] = [b for b in code_blocks(section("Linked accounts")) if "ana> /link" in b]
    drawn = iter(re.findall(r"Your linking code is ([A-Z2-9]{6})", block))
    monkeypatch.setattr(codes, "draw_code", lambda: next(drawn))
    assert await play(load_config(None), tmp_path / "linking.db", block) == []


def test_the_readme_deployment_of_many_communities_checks_as_written(tmp_path: Path) -> None:
    files = {}
    for block in code_blocks(section("Many communities in one deployment")):
        first = block.partition("\n")[0]
        if first.startswith("# ") and first.endswith(".yaml"):
            files[first.removeprefix("# ")] = block
    assert set(files) == {
        "concord.yaml",
        "communities/river.yaml",
        "communities/forest.yaml",
        "communities/meadow.yaml",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(text, "utf-8")
    config = load_config(tmp_path / "concord.yaml")
    assert [c.community_id for c in config.communities] == ["forest", "meadow", "river"]
    forest = ("-1001000000002", "-1001000000003", "-1002000000002")
    assert config.communities[0].spaces == {"telegram": forest}
    servers = ("123456789012345678", "133456789012345678")
    assert config.communities[1].spaces == {"discord": servers}
    result = concord("check", "concord.yaml", cwd=tmp_path)
    assert result.returncode == 0 and "3 communities" in result.stdout, result.stderr
