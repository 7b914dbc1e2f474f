"""Config validation: every mistake names the file, the line and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config.community import load_config
from bot.core.errors import ConfigError

GOOD = """\
community:
  id: demo
  name: Demo
  default_language: en
onboarding:
  welcome: channel
  reminder_after: 12h
  checkin_after: off
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "concord.yaml"
    path.write_text(text, "utf-8")
    return path


def error_of(tmp_path: Path, text: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text))
    return caught.value


def test_embedded_default_loads() -> None:
    config = load_config(None)
    assert config.community_name == "Example Community"
    assert config.code_of_conduct.is_file()
    assert config.onboarding.mentors


def test_a_small_config_gets_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD))
    assert config.onboarding.welcome == "channel"
    assert config.onboarding.checkin_after is None
    assert config.onboarding.reminder_after is not None
    assert config.onboarding.reminder_after.total_seconds() == 12 * 3600


@pytest.mark.parametrize(
    ("text", "line", "key", "words"),
    [
        (GOOD + "colour: blue\n", 9, "colour", "unknown key"),
        (
            GOOD.replace("welcome: channel", "welcome: pigeon"),
            6,
            "onboarding.welcome",
            "must be one of",
        ),
        (GOOD.replace("12h", "soon"), 7, "onboarding.reminder_after", "duration"),
        (
            GOOD.replace("default_language: en", "default_language: tlh"),
            4,
            "community.default_language",
            "no catalog",
        ),
        (GOOD.replace("  name: Demo\n", ""), 1, "community", "missing required key 'name'"),
        (
            GOOD + "limits:\n  messages_per_minute: lots\n",
            10,
            "limits.messages_per_minute",
            "whole number",
        ),
        (GOOD + "platforms:\n  zulip: {token_env: X}\n", 10, "platforms.zulip", "unknown key"),
        (GOOD + "durability: paranoid\n", 9, "durability", "must be one of: normal, strict"),
        (
            GOOD + "limits:\n  live_conversations: 0\n",
            10,
            "limits.live_conversations",
            "between 1 and",
        ),
        (GOOD + "reports:\n  rounds: 3\n", 10, "reports.rounds", "unknown key"),
        (
            GOOD + "privacy:\n  encryption_key_env: CONCORD_TEST_NO_SUCH_KEY\n",
            10,
            "privacy.encryption_key_env",
            "is not set",
        ),
        (GOOD + "mediation:\n  rounds: 3\n", 10, "mediation.rounds", "unknown key"),
        (
            GOOD + "mediation:\n  consent_timeout: 2h\n",
            10,
            "mediation.consent_timeout",
            "at least 24h",
        ),
        (GOOD + "onboarding2: 1\n", 9, "onboarding2", "unknown key"),
        (
            GOOD.replace("community:\n", "community:\n  id: again\n"),
            3,
            "community.id",
            "duplicate key",
        ),
        (GOOD + "x: &a [1]\ny: *a\n", 10, "y", "aliases"),
        ("community: [1, 2\n", 2, "(syntax)", ""),
    ],
)
def test_errors_name_file_line_and_key(
    tmp_path: Path, text: str, line: int, key: str, words: str
) -> None:
    error = error_of(tmp_path, text)
    assert error.file.endswith("concord.yaml")
    assert (error.line, error.key) == (line, key)
    assert words in error.message
    assert str(error).startswith(f"{error.file}:{line}: {key}:")


def test_mentor_with_unknown_interest(tmp_path: Path) -> None:
    text = GOOD + (
        "  interests:\n    - {id: code, label: Code}\n"
        "  mentors:\n    - member: console:ada\n      languages: [en]\n"
        "      interests: [knitting]\n"
    )
    error = error_of(tmp_path, text)
    assert error.key == "onboarding.mentors[0].interests[0]"
    assert error.line == 14


def test_missing_code_of_conduct_file(tmp_path: Path) -> None:
    error = error_of(
        tmp_path, GOOD.replace("  name: Demo\n", "  name: Demo\n  code_of_conduct: nope.yaml\n")
    )
    assert error.key == "community.code_of_conduct" and error.line == 4
