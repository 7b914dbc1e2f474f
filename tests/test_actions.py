"""Actions survive the outbox: what is committed is exactly what is delivered later."""

from __future__ import annotations

import json
from dataclasses import asdict

import pytest

from bot.core.actions import (
    Action,
    Ask,
    Choice,
    DeleteRecentMessages,
    GrantRole,
    NotifyModerators,
    OfferPrivateChat,
    OpenPrivateSpace,
    RevokeRole,
    Say,
    SendFile,
    action_from_json,
    action_to_json,
)
from bot.core.events import MemberRef, Place, PlaceKind

ANA = MemberRef("discord", "2001", 'Ana "{admin}" \u202e')
DM = Place.direct(ANA)
ROOM = Place("matrix", PlaceKind.PRIVATE, "!room:example.org")
EVERY_KIND: list[Action] = [
    Say(DM, "Hola\nالعربية ⁨/help⁩ @everyone"),
    Ask(DM, "Step 1 of 6: ?", (Choice("es", "Español"), Choice("person", "Talk to a person"))),
    OfferPrivateChat(Place("telegram", PlaceKind.CHANNEL, "-100"), ANA, "Welcome", "Open"),
    SendFile(DM, "my-data.json", '{"cases": []}'),
    DeleteRecentMessages(DM),
    GrantRole(ANA, "member"),
    RevokeRole(ANA, "muted"),
    GrantRole(ANA, "member", ("!hall:example.org", "#mods:example.org")),  # one community's
    OpenPrivateSpace("case-7", "Mediation 7", (ANA, MemberRef("discord", "2002", "Bo"))),
    NotifyModerators("console", "EMERGENCY report 7"),
]


@pytest.mark.parametrize("action", EVERY_KIND, ids=lambda a: type(a).__name__)
def test_every_action_round_trips_through_the_outbox(action: Action) -> None:
    stored = action_to_json(action)
    assert action_from_json(stored) == action
    # The stored form is the plain dataclass fields, as it always was.
    assert json.loads(stored) == {
        "type": type(action).__name__,
        **json.loads(json.dumps(asdict(action), ensure_ascii=False)),
    }
