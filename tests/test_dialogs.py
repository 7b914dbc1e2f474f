"""Dialog validation: each mistake fails fast with file, line and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.errors import ConfigError
from bot.core.resources import dialogs_dir
from bot.dialogs.loader import DialogRules, load_dialog_file, load_dialogs
from bot.features import all_features

ACTIONS, CHOICE_SOURCES = all_features().actions, all_features().choice_sources

MESSAGES = {"m.hello", "m.question", "m.yes", "m.no", "m.bye"}

GOOD = """\
dialog: demo
start: hello
steps:
  hello:
    say: m.hello
    actions: [mark_onboarded]
    next: question
  question:
    ask:
      message: m.question
      choices:
        - {key: a, label: m.yes, next: bye}
        - {key: b, label: m.no, next: end}
    timeout: 2d
    on_timeout: bye
  bye:
    say: [m.bye]
    end: true
"""


def rules() -> DialogRules:
    return DialogRules(MESSAGES, set(ACTIONS), set(CHOICE_SOURCES))


def load(tmp_path: Path, text: str):  # type: ignore[no-untyped-def]
    path = tmp_path / "demo.yaml"
    path.write_text(text, "utf-8")
    return load_dialog_file(path, rules())


def test_a_good_dialog_loads(tmp_path: Path) -> None:
    dialog = load(tmp_path, GOOD)
    assert dialog.start == "hello"
    assert dialog.steps["question"].timeout is not None
    assert [c.key for c in dialog.steps["question"].ask.choices] == ["a", "b"]  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("change", "line", "key", "words"),
    [
        (("next: question", "next: questoin"), 7, "steps.hello.next", "unknown step 'questoin'"),
        (("say: m.hello", "say: m.helo"), 5, "steps.hello.say[0]", "not in the catalog"),
        (("[mark_onboarded]", "[launch_rockets]"), 6, "steps.hello.actions[0]", "unknown action"),
        (("timeout: 2d", "timeout: tomorrow"), 14, "steps.question.timeout", "duration"),
        (("timeout: 2d", "timeout: 0m"), 14, "steps.question.timeout", "duration"),
        # WCAG 2.2.1: a member gets a day at least; shorter limits are refused.
        (("timeout: 2d", "timeout: 23h"), 14, "steps.question.timeout", "under 24 hours"),
        (("start: hello", "progress: [hello]\nstart: hello"), 2, "progress[0]", "asks"),
        (
            (
                "start: hello",
                "progress: [question]\nprogress_when: {hello: has_interests}\nstart: hello",
            ),
            3,
            "progress_when.hello",
            "not one of the numbered steps",
        ),
        (
            (
                "start: hello",
                "progress: [question]\nprogress_when: {question: guess}\nstart: hello",
            ),
            3,
            "progress_when.question",
            "unknown action",
        ),
        (
            ("    end: true\n", "    end: true\n  lost:\n    end: true\n"),
            19,
            "steps.lost",
            "unreachable",
        ),
        (("start: hello", "start: nowhere"), 2, "start", "unknown step"),
        (("    next: question\n", "    nxt: question\n"), 7, "steps.hello.nxt", "unknown key"),
        (
            ("key: b, label: m.no, next: end", "key: a, label: m.no, next: end"),
            11,
            "steps.question.ask.choices",
            "same key",
        ),
    ],
)
def test_mistakes_name_file_line_and_key(
    tmp_path: Path, change: tuple[str, str], line: int, key: str, words: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, GOOD.replace(*change))
    error = caught.value
    assert error.file.endswith("demo.yaml")
    assert (error.line, error.key) == (line, key), str(error)
    assert words in error.message


def test_shipped_dialogs_are_valid() -> None:
    from bot.core.resources import locales_dir
    from bot.i18n.catalogs import Catalogs

    english = Catalogs.load([locales_dir()]).message_ids("en")
    dialogs = load_dialogs(
        sorted(dialogs_dir().glob("*.yaml")),
        DialogRules(english, set(ACTIONS), set(CHOICE_SOURCES)),
    )
    assert {"onboarding", "coc", "language", "checkin", "reacknowledge"} <= set(dialogs)


def test_an_on_result_key_no_action_can_return_names_file_line_and_key(tmp_path: Path) -> None:
    features = all_features()
    checked = DialogRules(MESSAGES, set(ACTIONS), set(CHOICE_SOURCES), features.results())
    path = tmp_path / "demo.yaml"
    mentor = "    actions: [match_mentor]\n    on_result: {%s: bye}\n"
    good = GOOD.replace("    actions: [mark_onboarded]\n", mentor % "found")
    path.write_text(good, "utf-8")
    assert load_dialog_file(path, checked).steps["hello"].on_result == {"found": "bye"}
    path.write_text(good.replace("{found: bye}", "{foud: bye}"), "utf-8")
    with pytest.raises(ConfigError) as caught:
        load_dialog_file(path, checked)
    error = caught.value
    assert error.file.endswith("demo.yaml")
    assert (error.line, error.key) == (7, "steps.hello.on_result.foud"), str(error)
    assert "'foud' is not a result match_mentor can return" in error.message


def test_every_shipped_on_result_is_a_declared_result() -> None:
    from bot.core.resources import locales_dir
    from bot.i18n.catalogs import Catalogs

    features = all_features()
    english = Catalogs.load([locales_dir()]).message_ids("en")
    rules = DialogRules(english, set(ACTIONS), set(CHOICE_SOURCES), features.results())
    dialogs = load_dialogs(sorted(dialogs_dir().glob("*.yaml")), rules)
    used = {key for d in dialogs.values() for s in d.steps.values() for key in s.on_result}
    assert used >= {"gone", "limited", "other", "unknown"}
