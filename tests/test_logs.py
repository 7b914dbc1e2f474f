"""The operator's log: one structured line per handled event, and at the default level
(info) nothing that names a member or repeats what they wrote."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from adapters.logs import configure_logging
from tests.test_cli import ROOT

# Names and words nobody else uses, so finding them anywhere in the log means a leak.
MEMBERS = ("zofiaqx", "bartekvw")
WORDS = ("marmaladequokka", "plumbingzephyr")
SESSION = f"""\
{MEMBERS[0]} joins
{MEMBERS[0]}> 1
{MEMBERS[0]}> {WORDS[0]} is my question
{MEMBERS[1]} joins
{MEMBERS[1]} #general> {WORDS[1]} in a channel
{MEMBERS[1]}> /report {WORDS[0]}
{MEMBERS[0]}> /help
"""


def chat(
    tmp_path: Path, *flags: str, config: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "adapters.cli", "chat", "--db", str(tmp_path / "c.db"), *flags]
        + (["--config", str(config)] if config else []),
        input=SESSION,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_console_session_logs_one_json_line_per_event_and_no_member(tmp_path: Path) -> None:
    result = chat(tmp_path, "--log-format", "json", "--log-level", "info")
    assert result.returncode == 0, result.stderr
    assert MEMBERS[0] in result.stdout  # the bot greeted them by name: the name was known
    lines = [json.loads(line) for line in result.stderr.splitlines()]
    events = [line for line in lines if line["logger"] == "concord.events"]
    assert len(events) == len(SESSION.splitlines())
    assert {e["platform"] for e in events} == {"console"}
    assert {"MemberJoined", "TextSaid", "CommandRun"} <= {e["event"] for e in events}
    assert all(e["level"] == "info" and float(e["ms"]) >= 0 for e in events)
    for secret in (*MEMBERS, *WORDS, "console:"):
        assert secret not in result.stderr


def test_the_level_and_format_come_from_the_config(tmp_path: Path) -> None:
    example = (ROOT / "community" / "concord.yaml").read_text("utf-8")
    config = tmp_path / "concord.yaml"
    config.write_text(
        example.replace("limits:", "logging: {level: info, format: text}\n\nlimits:", 1).replace(
            "# code_of_conduct:",
            "code_of_conduct: " + str(ROOT / "community" / "code-of-conduct.yaml") + "\n  #",
            1,
        ),
        "utf-8",
    )
    result = chat(tmp_path, config=config)
    assert result.returncode == 0, result.stderr
    events = [line for line in result.stderr.splitlines() if " concord.events: " in line]
    assert len(events) == len(SESSION.splitlines())
    assert "platform=console event=MemberJoined outcome=handled ms=" in events[0]
    quiet = chat(tmp_path, "--log-level", "warning", config=config)  # the flag wins
    assert " concord.events: " not in quiet.stderr


def test_libraries_speak_only_of_trouble_unless_debugging() -> None:
    """Platform libraries log request URLs (a Telegram token is in its URLs) and ids at
    info: below warning they are heard only at debug level."""
    import io
    import logging

    stream = io.StringIO()
    configure_logging("info", "json", stream)
    logging.getLogger("concord.events").info("event handled")
    logging.getLogger("httpx").info("HTTP Request: POST https://api.telegram.org/bot1:S/x")
    logging.getLogger("discord.gateway").info("Shard connected (Session ID: 1)")
    logging.getLogger("nio.rooms").warning("a room was left")
    heard = [json.loads(line)["logger"] for line in stream.getvalue().splitlines()]
    assert heard == ["concord.events", "nio.rooms"]
    configure_logging("debug", "json", stream)
    logging.getLogger("httpx").debug("details")
    assert json.loads(stream.getvalue().splitlines()[-1])["logger"] == "httpx"
    configure_logging("warning", "text")
