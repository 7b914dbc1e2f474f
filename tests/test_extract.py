"""The Babel extractor: translators get every YAML message, with the right line."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
from babel.messages.extract import extract, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg

from bot.conduct.document import catalog_entries, load_coc
from bot.core.errors import ConfigError
from bot.core.yamlsource import load_yaml_file
from bot.i18n.extract import extract_yaml

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "community" / "code-of-conduct.yaml"

DIALOG = """\
name: welcome
steps:
  start:
    say:
      - welcome.hello
      - welcome.pick_language
    choices:
      - label: welcome.choice.english
        next: done
      - label: welcome.choice.other
        next: done
  done:
    say: welcome.done
    ask:
      prompt: welcome.ask_name
      invalid: welcome.name_invalid
    message: ""
    next: end
"""


def run(
    text: str, name: str = "dialogs/welcome.yaml"
) -> list[tuple[int, str | None, str, list[str]]]:
    fileobj = io.BytesIO(text.encode("utf-8"))
    fileobj.name = name
    return list(extract_yaml(fileobj, [], [], {}))


def test_dialog_yields_each_message_id_on_its_line() -> None:
    assert [(line, msgid) for line, _, msgid, _ in run(DIALOG)] == [
        (5, "welcome.hello"),
        (6, "welcome.pick_language"),
        (8, "welcome.choice.english"),
        (10, "welcome.choice.other"),
        (13, "welcome.done"),
        (15, "welcome.ask_name"),
        (16, "welcome.name_invalid"),
    ]


def test_dialog_step_names_and_targets_are_not_messages() -> None:
    msgids = {msgid for _, _, msgid, _ in run(DIALOG)}
    assert not msgids & {"welcome", "done", "end", ""}


def test_code_of_conduct_yields_derived_ids_with_the_english_text() -> None:
    found = run(EXAMPLE.read_text(encoding="utf-8"), str(EXAMPLE))
    coc = load_coc(EXAMPLE)
    expected = catalog_entries(coc, load_yaml_file(EXAMPLE))
    assert [(line, msgid, comments) for line, _, msgid, comments in found] == [
        (line, msgid, [text]) for line, msgid, text in expected
    ]
    by_id = {msgid: (line, comments) for line, _, msgid, comments in found}
    line, comments = by_id["coc.be-kind.title"]
    assert comments == ["Be kind"]
    assert EXAMPLE.read_text(encoding="utf-8").splitlines()[line - 1].strip() == "title: Be kind"
    assert all(funcname is None for _, funcname, _, _ in found)


def test_broken_code_of_conduct_stops_extraction_with_file_and_line() -> None:
    text = EXAMPLE.read_text(encoding="utf-8").replace("id: privacy", "id: be-kind", 1)
    with pytest.raises(ConfigError) as caught:
        run(text, "community/code-of-conduct.yaml")
    assert caught.value.file == "community/code-of-conduct.yaml"
    assert caught.value.key.endswith(".id")
    assert "duplicate" in caught.value.message


def test_babel_runs_the_extractor_by_its_dotted_name() -> None:
    fileobj = io.BytesIO(DIALOG.encode("utf-8"))
    found = list(extract("bot.i18n.extract:extract_yaml", fileobj))
    assert found[0][:2] == (5, "welcome.hello")


def test_babel_cfg_collects_python_dialogs_and_the_code_of_conduct(tmp_path: Path) -> None:
    """The project's own babel.cfg, run over a small tree shaped like the repo."""
    (tmp_path / "bot").mkdir()
    (tmp_path / "bot" / "hello.py").write_text('turn.say("engine.hello")\n', encoding="utf-8")
    (tmp_path / "adapters").mkdir()
    (tmp_path / "adapters" / "chat.py").write_text('N_("adapter.hi")\n', encoding="utf-8")
    (tmp_path / "dialogs").mkdir()
    (tmp_path / "dialogs" / "welcome.yaml").write_text(DIALOG, encoding="utf-8")
    (tmp_path / "community").mkdir()
    shutil.copy(EXAMPLE, tmp_path / "community" / "code-of-conduct.yaml")
    (tmp_path / "community" / "concord.yaml").write_text(
        "community: {id: x, name: X}\n"
        "onboarding:\n  interests:\n    - id: code\n      label: Code and tools\n",
        encoding="utf-8",
    )
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_x.py").write_text('N_("not.shipped")\n', encoding="utf-8")

    with (ROOT / "babel.cfg").open(encoding="utf-8") as config:
        method_map, options_map = parse_mapping_cfg(config)  # type: ignore[no-untyped-call]
    found = {
        msgid: filename
        for filename, _, msgid, _, _ in extract_from_dir(str(tmp_path), method_map, options_map)
    }
    assert found["engine.hello"] == "bot/hello.py"
    assert found["adapter.hi"] == "adapters/chat.py"
    assert found["welcome.ask_name"] == "dialogs/welcome.yaml"
    assert found["coc.no-harassment.summary"] == "community/code-of-conduct.yaml"
    assert "not.shipped" not in found
    assert "Code and tools" not in found  # settings are not message ids...
    assert found["interest.code"] == "community/concord.yaml"  # ...but interests are shown


PYTHON_SOURCE = '''\
"""A module docstring that mentions say("common.fake") in passing."""


def welcome(turn, text):
    """How a reply looks: text("common.docstring") is not a call."""
    if text[0] == "!":
        turn.say("common.help")
    shown = "{}…".format("common.not_an_id_call") + "…"
    turn.outbox.append(turn.text("common.choice_hint", count="3"))
    turn.ntext("common.answer_too_long", "common.answer_too_long.plural", 3)
    tell(turn, member, "mediation.invited")
    turn.say(variable_id)
    turn.say("Not a message id!")
    return shown
'''


def test_python_extraction_takes_only_ids_passed_to_the_text_functions() -> None:
    """Docstrings, comparisons, string formatting and non-id literals are never taken,
    whatever Babel's own tokenizer would make of them."""
    method = "bot.i18n.extract_python:extract_python"
    found = [
        (line, message)
        for line, message, _comments, _context in extract(
            method, io.BytesIO(PYTHON_SOURCE.encode())
        )
    ]
    assert found == [
        (7, "common.help"),
        (9, "common.choice_hint"),
        (10, ("common.answer_too_long", "common.answer_too_long.plural")),
        (11, "mediation.invited"),
    ]
