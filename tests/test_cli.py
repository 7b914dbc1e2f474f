"""The ``concord`` command as an admin runs it, in a separate process."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

from bot.config.community import PLATFORMS

ROOT = Path(__file__).resolve().parents[1]


def concord(
    *args: str, cwd: Path = ROOT, env: dict[str, str] | None = None, input_text: str = ""
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "adapters.cli", *args],
        cwd=cwd,
        input=input_text,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
    )


def test_version() -> None:
    result = concord("--version")
    assert result.returncode == 0 and result.stdout.startswith("concord 0.")


def test_check_the_embedded_default() -> None:
    result = concord("check")
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout and "languages" in result.stdout


def test_broken_config_is_one_line_exit_1_and_writes_nothing(tmp_path: Path) -> None:
    config = tmp_path / "concord.yaml"
    config.write_text("community:\n  id: x\n  name: X\n  colour: blue\n", "utf-8")
    database = tmp_path / "never.db"
    for args in (("check", str(config)), ("chat", "--config", str(config), "--db", str(database))):
        result = concord(*args)
        assert result.returncode == 1
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert lines[0] == (
            f"concord: {config}:4: community.colour: unknown key (expected one of: "
            "code_of_conduct, default_language, id, languages, locales, name)"
        )
    assert not database.exists()


def test_broken_dialog_catalog_or_code_of_conduct(tmp_path: Path) -> None:
    coc = tmp_path / "coc.yaml"
    coc.write_text(
        (ROOT / "community" / "code-of-conduct.yaml")
        .read_text("utf-8")
        .replace("  - id: privacy", "  - id: Privacy!"),
        "utf-8",
    )
    config = tmp_path / "concord.yaml"
    config.write_text(f"community:\n  id: x\n  name: X\n  code_of_conduct: {coc}\n", "utf-8")
    result = concord("check", str(config))
    assert result.returncode == 1
    assert result.stderr.startswith(f"concord: {coc}:") and ".id:" in result.stderr

    locales = tmp_path / "locales" / "en" / "LC_MESSAGES"
    locales.mkdir(parents=True)
    (locales / "messages.po").write_text(
        'msgid ""\nmsgstr ""\n"Language: en\\n"\n"Plural-Forms: nplurals=2; plural=(n != 1);\\n"'
        '\n\nmsgid "common.help"\nmsgstr "Help {name\n',
        "utf-8",
    )
    config.write_text("community:\n  id: x\n  name: X\n  locales: locales\n", "utf-8")
    result = concord("check", str(config))
    assert result.returncode == 1
    assert "messages.po:" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_transcript_pass_and_fail(tmp_path: Path) -> None:
    good = tmp_path / "good.txt"
    good.write_text(
        "> ana #general> hello everyone\n· no answer: talk between people in #general\n"
        "> ana> /coc 4\nbot → ana: 4. No harassment\n",
        "utf-8",
    )
    result = concord("chat", "--transcript", str(good))
    assert result.returncode == 1  # the section has more lines than written above
    assert "+    Do not harass anyone." in result.stderr
    assert f"{good}:3:" in result.stderr

    listing = concord("chat", "--transcript", str(tmp_path / "missing.txt"))
    assert listing.returncode == 1 and "no such file" in listing.stderr


def test_wheel_ships_dialogs_catalogs_and_example_and_runs_elsewhere(tmp_path: Path) -> None:
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path / "dist"),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr
    [wheel] = (tmp_path / "dist").glob("concord_bot-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for expected in (
        "bot/_data/dialogs/onboarding.yaml",
        "bot/_data/locales/ar/LC_MESSAGES/messages.po",
        "bot/_data/community/code-of-conduct.yaml",
        "bot/_data/community/concord.yaml",
        "adapters/cli.py",
        "adapters/platforms.py",
        "adapters/console/adapter.py",
        *(f"adapters/{name}/{file}.py" for name in PLATFORMS for file in ("settings", "adapter")),
        "bot/py.typed",
    ):
        assert expected in names
    target = tmp_path / "installed"
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--target", str(target), str(wheel)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert installed.returncode == 0, installed.stderr
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = subprocess.run(
        [sys.executable, "-m", "adapters.cli", "check"],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(target)},
    )
    assert result.returncode == 0, result.stderr
    shipped = len(list((ROOT / "locales").glob("*/LC_MESSAGES/messages.po")))
    assert f"{shipped} languages" in result.stdout


def test_run_names_a_missing_token_variable(tmp_path: Path) -> None:
    config = tmp_path / "concord.yaml"
    config.write_text(
        "community: {id: x, name: X}\n"
        "platforms:\n"
        "  telegram:\n"
        "    token_env: CONCORD_TEST_UNSET_TOKEN\n"
        "    groups: [-1001]\n",
        "utf-8",
    )
    env = {k: v for k, v in os.environ.items() if k != "CONCORD_TEST_UNSET_TOKEN"}
    result = subprocess.run(
        [sys.executable, "-m", "adapters.cli", "run", str(config), "--db", str(tmp_path / "x.db")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**env, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "CONCORD_TEST_UNSET_TOKEN" in lines[0], result.stderr
    assert "platforms.telegram.token_env" in lines[0]
    assert not (tmp_path / "x.db").exists()  # nothing started, nothing written


def test_check_without_platforms_is_fine_and_run_needs_one(tmp_path: Path) -> None:
    config = tmp_path / "concord.yaml"
    config.write_text("community: {id: x, name: X}\n", "utf-8")
    result = concord("run", str(config))
    assert result.returncode == 1 and "no platform is configured" in result.stderr
