"""The JSON Schema of concord.yaml: printed by ``concord schema``, shipped beside the
example config, and built from the field records the loader validates with, so that
what the loader rejects the schema rejects too."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from bot.config.community import load_config
from bot.config.schema import config_schema
from bot.core.errors import ConfigError
from bot.core.resources import community_dir
from tests.schema_check import schema_errors, validator
from tests.test_cli import ROOT, concord
from tests.test_config import GOOD, write

EXAMPLE = ROOT / "community" / "concord.yaml"
SHIPPED = ROOT / "community" / "concord.schema.json"


def test_concord_schema_prints_the_shipped_schema() -> None:
    result = concord("schema")
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    assert printed == json.loads(SHIPPED.read_text("utf-8")), (
        "community/concord.schema.json is stale: concord schema > community/concord.schema.json"
    )
    assert printed == validator().schema
    assert set(printed["properties"]["platforms"]["properties"]) == {
        "discord",
        "matrix",
        "telegram",
    }


def test_the_example_names_the_schema_and_fits_it() -> None:
    text = EXAMPLE.read_text("utf-8")
    assert text.startswith("# yaml-language-server: $schema=concord.schema.json\n")
    assert (community_dir() / "concord.schema.json").is_file()  # beside it, installed too
    assert schema_errors(yaml.safe_load(text)) == []
    load_config(EXAMPLE)


def test_the_core_schema_alone_leaves_platform_sections_open() -> None:
    core = config_schema()
    assert core["properties"]["platforms"]["properties"]["matrix"]["type"] == "object"


PLATFORMS = GOOD + "platforms:\n"
DISCORD = PLATFORMS + "  discord:\n    token_env: T\n    guild: 123456789012345678\n"
MATRIX = (
    PLATFORMS
    + "  matrix:\n    homeserver: https://m.example.org\n    user_id: '@c:example.org'\n"
    + "    token_env: T\n"
)
TELEGRAM = PLATFORMS + "  telegram:\n    token_env: T\n"


def test_empty_values_the_loader_takes_as_none_fit_the_schema(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from adapters.platforms import settings_module

    monkeypatch.setenv("T", "secret")
    text = (
        GOOD.replace("checkin_after: off", "checkin_after:\n  role:\n  interests:")
        + "moderators:\nprivacy:\n  retention_days:\nreports:\n  emergency_contacts:\n"
        + "logging:\nmetrics:\n"
        + DISCORD.removeprefix(GOOD)
        + "    moderator_roles:\n    channels:\n    welcome_channel:\n"
    )
    config = load_config(write(tmp_path, text))
    assert config.onboarding.role is None and config.onboarding.checkin_after is None
    settings_module("discord").parse(config.platforms["discord"], check_only=True)
    assert schema_errors(yaml.safe_load(text)) == []


# Each mistake the loader reports, and the key the schema reports it at.
@pytest.mark.parametrize(
    ("text", "key"),
    [
        # unknown keys
        (GOOD + "colour: blue\n", ""),
        (GOOD + "reports:\n  rounds: 3\n", "reports"),
        (GOOD + "mediation:\n  rounds: 3\n", "mediation"),
        (GOOD + "platforms:\n  irc: {token_env: X}\n", "platforms"),
        (DISCORD + "    colour: blue\n", "platforms.discord"),
        (MATRIX + "    colour: blue\n", "platforms.matrix"),
        (TELEGRAM + "    colour: blue\n", "platforms.telegram"),
        # wrong types
        (GOOD + "limits:\n  messages_per_minute: lots\n", "limits.messages_per_minute"),
        (GOOD.replace("channel", "[a, b]"), "onboarding.welcome"),
        (GOOD + "moderators: [kai]\n", "moderators"),
        (GOOD + "mediation:\n  enabled: maybe\n", "mediation.enabled"),
        (GOOD + "logging:\n  level: 3\n", "logging.level"),
        (DISCORD + "    message_content: yes please\n", "platforms.discord.message_content"),
        (MATRIX + "    moderator_power: high\n", "platforms.matrix.moderator_power"),
        (TELEGRAM + "    moderator_ids: [alice]\n", "platforms.telegram.moderator_ids.0"),
        (DISCORD.replace("123456789012345678", "the-server"), "platforms.discord.guild"),
        (GOOD.replace("12h", "soon"), "onboarding.reminder_after"),
        (GOOD + "mediation:\n  admins: [mod]\n", "mediation.admins.0"),
        (
            GOOD + "mediation:\n  mediators: [{member: c:n, languages: en, term_end: soon}]\n",
            "mediation.mediators.0.term_end",
        ),
        # out of range
        (GOOD + "limits:\n  live_conversations: 0\n", "limits.live_conversations"),
        (GOOD + "reports:\n  per_day: 1000\n", "reports.per_day"),
        (GOOD + "privacy:\n  retention_days: 0\n", "privacy.retention_days"),
        (GOOD + "metrics:\n  port: 70000\n", "metrics.port"),
        (TELEGRAM + "    poll_timeout: 61\n", "platforms.telegram.poll_timeout"),
        (DISCORD + "    requests_per_second: 0\n", "platforms.discord.requests_per_second"),
        (MATRIX + "    send_burst: 0\n", "platforms.matrix.send_burst"),
        # not one of the allowed values
        (GOOD.replace("welcome: channel", "welcome: pigeon"), "onboarding.welcome"),
        (GOOD + "durability: paranoid\n", "durability"),
        (GOOD + "logging:\n  format: xml\n", "logging.format"),
        (MATRIX + "    role_mode: roles\n", "platforms.matrix.role_mode"),
        # a missing required key
        (GOOD.replace("  name: Demo\n", ""), "community"),
        ("onboarding: {}\n", ""),
        (GOOD + "onboarding2: {interests: [{id: x}]}\n", ""),
        (
            GOOD.replace("onboarding:\n", "onboarding:\n  interests: [{id: x}]\n"),
            "onboarding.interests.0",
        ),
        (DISCORD.replace("    guild: 123456789012345678\n", ""), "platforms.discord"),
        (MATRIX.replace("    token_env: T\n", ""), "platforms.matrix"),
        (PLATFORMS + "  telegram: {groups: [-1]}\n", "platforms.telegram"),
    ],
)
def test_every_loader_error_has_a_schema_counterpart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, key: str
) -> None:
    from adapters.platforms import settings_module

    monkeypatch.setenv("T", "secret")
    with pytest.raises(ConfigError):
        config = load_config(write(tmp_path, text))
        for name, section in config.platforms.items():
            settings_module(name).parse(section, check_only=True)
    errors = schema_errors(yaml.safe_load(text))
    assert errors, "the schema accepts what the loader rejects"
    assert any(error.split(":")[0] == key for error in errors), errors
