"""What Concord stores as JSON reads back as it was written, whatever the value."""

from __future__ import annotations

import json

from bot.core.actions import Ask, Choice, action_from_json, action_to_json
from bot.core.events import MemberRef, Place
from bot.core.jsontext import dumps, read


def test_an_action_reads_back_equal_with_its_places_and_choices() -> None:
    who = MemberRef("telegram", "42", "Zoë")
    question = Ask(Place.direct(who), "¿Qué encaja?\n1. Sí", (Choice("yes~3", "Sí «vale»"),))
    text = action_to_json(question)
    assert action_from_json(text) == question
    assert "¿Qué encaja?" in text and "\\u" not in text  # kept readable, not escaped


def test_values_the_fast_encoder_refuses_are_still_written() -> None:
    # An integer beyond 64 bits, and keys that are not strings.
    value = {"big": 2**70, "small": -(2**64), 3: "three", "list": [1.5, None, True]}
    expected = {"big": 2**70, "small": -(2**64), "3": "three", "list": [1.5, None, True]}
    assert json.loads(dumps(value)) == expected
    assert read(dumps(value)) == expected  # read back whole, by the slower reader


def test_a_stored_state_reads_back_as_it_was_written() -> None:
    state = {"name": "Zoë 名前 🙂", "quote": 'say "hi"\n', "n": [0, -1, 2**63 - 1], "x": {}}
    assert read(dumps(state)) == state
