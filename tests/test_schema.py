"""The JSON Schema of concord.yaml: printed by ``concord schema``, shipped beside the
example config, and built from the field records the loader validates with, so that
what the loader rejects the schema rejects too."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from bot.config.community import load_config, parse_config
from bot.config.schema import config_schema
from bot.core.errors import ConfigError
from bot.core.resources import community_dir
from tests.schema_check import schema_errors, validator
from tests.test_cli import ROOT, concord
from tests.test_config import GOOD, write
from tests.test_fuzz import CONFIG_KEYS, structures

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
        "irc",
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
IRC = (
    PLATFORMS + "  irc:\n    host: irc.example.org\n    operator: alice\n    channels: ['#demo']\n"
)


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
        (GOOD + "platforms:\n  zulip: {token_env: X}\n", "platforms"),
        (DISCORD + "    colour: blue\n", "platforms.discord"),
        (MATRIX + "    colour: blue\n", "platforms.matrix"),
        (TELEGRAM + "    colour: blue\n", "platforms.telegram"),
        (IRC + "    colour: blue\n", "platforms.irc"),
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
        (IRC + "    tls: maybe\n", "platforms.irc.tls"),
        (IRC + "    nick: 9lives\n", "platforms.irc.nick"),
        (IRC + "    username: two words\n", "platforms.irc.username"),
        (IRC.replace("'#demo'", "demo"), "platforms.irc.channels.0"),
        (IRC + "    moderators_channel: mods\n", "platforms.irc.moderators_channel"),
        (IRC + "    channel_names: [welcome]\n", "platforms.irc.channel_names"),
        (IRC + "    channel_names: {welcome: lobby}\n", "platforms.irc.channel_names.welcome"),
        (IRC + "    moderator_masks: [alice]\n", "platforms.irc.moderator_masks.0"),
        (IRC + "    mediator_masks: ['*!*@a b']\n", "platforms.irc.mediator_masks.0"),
        (IRC + "    command_prefix: /concord\n", "platforms.irc.command_prefix"),
        (IRC.replace("alice", '"alice\\nbob"'), "platforms.irc.operator"),
        (IRC.replace("alice", "'   '"), "platforms.irc.operator"),
        (IRC.replace("alice", "x" * 81), "platforms.irc.operator"),
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
        (IRC + "    port: 0\n", "platforms.irc.port"),
        (IRC + "    send_rate: 0\n", "platforms.irc.send_rate"),
        # not one of the allowed values
        (GOOD.replace("welcome: channel", "welcome: pigeon"), "onboarding.welcome"),
        (GOOD + "durability: paranoid\n", "durability"),
        (GOOD + "logging:\n  format: xml\n", "logging.format"),
        (MATRIX + "    role_mode: roles\n", "platforms.matrix.role_mode"),
        (IRC + "    sasl: kerberos\n", "platforms.irc.sasl"),
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
        (IRC.replace("    operator: alice\n", ""), "platforms.irc"),
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


# --- one changed value at a time: the loader and the schema agree --------------------

# Mistakes only the loader can see: they need the files, the catalogs, other keys, the
# environment, or the exact rules for language tags and the longest duration.
BEYOND_THE_SCHEMA = (
    "no catalog",
    "appears twice",
    "ends before it starts",
    "at least 24h",
    "must be one of 'languages'",
    "needs members_room",
    "no such file",
    "no such directory",
    "unknown interest",
    "is not set",
    "is not a language code",
    "expected a duration",
)


IRC_KEYS = {
    "port": 6697,
    "tls": True,
    "nick": "Concord",
    "username": "concord",
    "sasl": "none",
    "moderators_channel": "#mods",
    "channel_names": {"welcome": "#demo"},
    "moderator_masks": ["*!*@user/alice"],
    "mediator_masks": ["bob!*@*"],
    "command_prefix": "!concord",
    "send_rate": 1.0,
}


def _example_with_platforms() -> dict[str, Any]:
    data = yaml.safe_load(EXAMPLE.read_text("utf-8"))
    data["platforms"] = {}
    platforms = (("discord", DISCORD), ("matrix", MATRIX), ("telegram", TELEGRAM), ("irc", IRC))
    for name, text in platforms:
        data["platforms"][name] = yaml.safe_load(text)["platforms"][name]
    data["platforms"]["irc"].update(IRC_KEYS)  # IRC checks most keys itself: each one here
    return data


def _paths(data: object, prefix: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    found = [prefix] if prefix else []
    if isinstance(data, dict):
        for key, value in data.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            found += _paths(value, (*prefix, i))
    return found


BASE = _example_with_platforms()
PATHS = _paths(BASE)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    path=st.sampled_from(PATHS),
    value=structures(CONFIG_KEYS),
    add=st.booleans(),
)
def test_one_changed_value_the_loader_and_the_schema_agree(
    path: tuple[object, ...], value: object, add: bool
) -> None:
    """A value replaced (or a key added beside it): what the loader accepts the schema
    accepts, and a mistake of shape the loader reports the schema reports too."""
    from adapters.platforms import settings_module
    from bot.core.yamlsource import load_yaml_text

    data = copy.deepcopy(BASE)
    *parent_path, last = path
    parent: Any = data
    for key in parent_path:
        parent = parent[key]
    # The loader takes any empty value (false, 0, "", []) for an empty section or "no
    # role"; the schema asks for a mapping or nothing there, as the documentation does.
    takes_empty = isinstance(parent[last], dict) or path == ("onboarding", "role")
    assume(not (takes_empty and not value and value is not None))
    if add and isinstance(parent, dict):
        parent[f"{last}x"] = value
    else:
        parent[last] = value
    text = yaml.safe_dump(data, allow_unicode=True)
    try:
        doc = load_yaml_text(text, "concord.yaml")
        config = parse_config(doc, community_dir())
        for name, section in config.platforms.items():
            settings_module(name).parse(section, check_only=True)
        message = None
    except ConfigError as error:
        message = error.message
    errors = schema_errors(yaml.safe_load(text))
    if message is None:
        assert errors == [], text
    elif not any(words in message for words in BEYOND_THE_SCHEMA):
        assert errors, f"the loader says {message!r}; the schema accepts:\n{text}"


def test_the_community_file_schema_is_shipped_and_fits_the_readme_example() -> None:
    from jsonschema import Draft7Validator

    from bot.config.schema import community_file_schema
    from bot.core.yamlsource import load_yaml_text
    from tests.test_docs import README, code_blocks

    result = concord("schema", "--community")
    assert result.returncode == 0, result.stderr
    shipped = json.loads((ROOT / "community" / "community.schema.json").read_text("utf-8"))
    assert json.loads(result.stdout) == shipped == community_file_schema(), (
        "community/community.schema.json is stale: "
        "concord schema --community > community/community.schema.json"
    )
    checker = Draft7Validator(shipped)
    examples = [b for b in code_blocks(README) if b.startswith("# communities/")]
    assert len(examples) == 3
    for block in examples:
        data = load_yaml_text(block, "example").data
        assert not list(checker.iter_errors(data)), block
    assert list(checker.iter_errors({"community": {"id": "x", "name": "X"}, "colour": 1}))
