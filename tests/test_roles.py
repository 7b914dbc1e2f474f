"""Process roles: ``concord run --platforms`` and ``--discord-shard``, checked before
anything starts (one line, exit 1), and the settings each process runs with."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from adapters.discord.settings import parse as parse_discord
from adapters.platforms import Role, _attach, check_platforms
from bot.app import build_engine
from bot.config.community import load_config
from bot.core.errors import ConfigError, UsageError
from tests.conftest import RecordingAdapter
from tests.test_cli import concord

GUILD = 81_234_567_890_123_456
TWO_PLATFORMS = {
    "telegram": {"token_env": "CONCORD_TEST_ROLE_TELEGRAM", "groups": [-1001]},
    "discord": {"token_env": "CONCORD_TEST_ROLE_DISCORD", "guild": GUILD},
}
URL = "postgresql://concord@127.0.0.1:1/none"


def write(tmp_path: Path, **platforms: dict[str, object]) -> Path:
    config = tmp_path / "concord.yaml"
    text = "community: {id: x, name: X}\nplatforms:\n"
    text += "".join(f"  {name}: {json.dumps(section)}\n" for name, section in platforms.items())
    config.write_text(text, "utf-8")
    return config


def one_line_exit_1(*args: str) -> str:
    env = {"CONCORD_TEST_ROLE_TELEGRAM": "1:tg", "CONCORD_TEST_ROLE_DISCORD": "dc"}
    result = concord(*args, env={**os.environ, **env})
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1 and len(lines) == 1, result.stderr
    return lines[0]


def test_a_platform_the_config_does_not_configure_is_refused(tmp_path: Path) -> None:
    config = write(tmp_path, **TWO_PLATFORMS)
    line = one_line_exit_1("run", str(config), "--db", URL, "--platforms", "telegram,matrix")
    assert "'matrix' is not configured" in line and "telegram, discord" in line
    line = one_line_exit_1("run", str(config), "--db", URL, "--platforms", ",")
    assert "--platforms: name one or more of" in line


def test_some_platforms_only_need_a_shared_database(tmp_path: Path) -> None:
    config = write(tmp_path, **TWO_PLATFORMS)
    line = one_line_exit_1(
        "run", str(config), "--db", str(tmp_path / "x.db"), "--platforms", "telegram"
    )
    assert "needs a postgresql:// database" in line
    assert not (tmp_path / "x.db").exists()


@pytest.mark.parametrize(
    ("shard", "says"),
    [
        ("4/4", "from 0 to COUNT - 1"),
        ("1", "expected N/COUNT"),
        ("-1/2", "expected N/COUNT"),
        ("a/b", "expected N/COUNT"),
    ],
)
def test_a_bad_discord_shard_is_one_line(tmp_path: Path, shard: str, says: str) -> None:
    config = write(tmp_path, **TWO_PLATFORMS)
    line = one_line_exit_1("run", str(config), "--db", URL, f"--discord-shard={shard}")
    assert says in line and line.startswith("concord: --discord-shard")


def test_on_sqlite_the_one_process_must_run_the_servers_shard(tmp_path: Path) -> None:
    config = write(tmp_path, **TWO_PLATFORMS)
    other = (GUILD >> 22) % 2 ^ 1
    line = one_line_exit_1(
        "run", str(config), "--db", str(tmp_path / "x.db"), "--discord-shard", f"{other}/2"
    )
    assert f"is on shard {other ^ 1}, which this process does not run" in line


def test_a_discord_shard_in_a_process_without_discord_is_refused(tmp_path: Path) -> None:
    config = write(tmp_path, **TWO_PLATFORMS)
    line = one_line_exit_1(
        "run", str(config), "--db", URL, "--platforms", "telegram", "--discord-shard", "0/2"
    )
    assert "runs no Discord" in line


def test_a_process_needs_only_the_tokens_of_the_platforms_it_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = load_config(write(tmp_path, **TWO_PLATFORMS))
    monkeypatch.setenv("CONCORD_TEST_ROLE_DISCORD", "dc")
    monkeypatch.delenv("CONCORD_TEST_ROLE_TELEGRAM", raising=False)
    settings = check_platforms(config, Role("discord", "3/4"))
    assert list(settings) == ["discord"]
    discord = settings["discord"]
    assert (discord.shard_ids, discord.shard_count) == ((3,), 4)
    assert discord.guild_shard() == (GUILD >> 22) % 4
    with pytest.raises(ConfigError, match="CONCORD_TEST_ROLE_TELEGRAM is not set"):
        check_platforms(config, Role())  # all platforms: all tokens
    with pytest.raises(UsageError):
        check_platforms(config, Role("discord", "4/4"))


def test_discord_shards_in_the_settings_are_checked(tmp_path: Path) -> None:
    def discord_section(**more: object) -> ConfigError | tuple[tuple[int, ...], int | None]:
        section = {**TWO_PLATFORMS["discord"], **more}
        config = load_config(write(tmp_path, discord=section))
        try:
            found = parse_discord(config.platforms["discord"], check_only=True)
        except ConfigError as exc:
            return exc
        return found.shard_ids, found.shard_count

    assert discord_section(shard_count=4, shard_ids=[3, 1]) == ((1, 3), 4)
    assert discord_section(shard_count=2) == ((), 2)
    for wrong, key in (
        ({"shard_ids": [0]}, "platforms.discord.shard_ids"),
        ({"shard_count": 2, "shard_ids": [2]}, "platforms.discord.shard_ids[0]"),
        ({"shard_count": 0}, "platforms.discord.shard_count"),
        ({"shard_count": 2, "shard_ids": []}, "platforms.discord.shard_ids"),
    ):
        error = discord_section(**wrong)
        assert isinstance(error, ConfigError) and error.key == key, wrong


def test_an_adapter_that_cannot_deliver_hands_in_and_leaves_delivery_to_others(
    tmp_path: Path,
) -> None:
    """A Discord process without the server's shard: its platform's actions are not
    claimed here (on a shared store another process delivers them), but turns know
    what the platform can do."""
    config = load_config(write(tmp_path, **TWO_PLATFORMS))
    engine = build_engine(config, tmp_path / "x.db")
    try:
        elsewhere = RecordingAdapter()
        elsewhere.delivers = False  # type: ignore[attr-defined]
        _attach(elsewhere, engine)  # type: ignore[arg-type]
        assert "test" not in engine.outbox.adapters
        assert engine.services.capabilities["test"] is elsewhere.capabilities
        _attach(RecordingAdapter(), engine)  # type: ignore[arg-type]
        assert "test" in engine.outbox.adapters
    finally:
        engine.services.store.close()
