"""What linked accounts share: the member's language and their agreement to the code
of conduct (and so the onboarding: agreeing once is enough everywhere). A change on
one account reaches the others as a signal, each applied in that account's own turn."""

from __future__ import annotations

import json
from typing import Any

from bot.core.actions import GrantRole
from bot.core.events import TimerFired
from bot.core.state import Profile
from bot.engine.flows import drop_flows, resume
from bot.engine.turn import Services, Turn
from bot.features.identity.codes import member_ref

SYNC = "identity:sync"
# The flows agreeing elsewhere makes unnecessary here.
ONBOARDING_FLOWS = ("onboarding", "reacknowledge")


def shared_values(profile: Profile) -> dict[str, Any]:
    return stored_shared_values(profile.__dict__)


def stored_shared_values(stored: dict[str, Any]) -> dict[str, Any]:
    """``shared_values`` of a profile's fields by name, as stored (``profile_to_dict``)
    or its own: asked after every turn, where making the whole profile again showed."""
    return {
        "locale": stored.get("chosen_locale"),
        "version": stored.get("acknowledged_version"),
        "onboarded": bool(stored.get("onboarded", False)),
    }


def merged(
    mine: dict[str, Any], theirs: dict[str, Any] | None, services: Services
) -> dict[str, Any]:
    """Linking two accounts: the language of the account that asked for the code (the
    other's if it chose none), the current code of conduct if either agreed to it,
    onboarded if either was."""
    if theirs is None:
        return mine
    current = services.coc.version
    versions = (mine["version"], theirs["version"])
    return {
        "locale": mine["locale"] or theirs["locale"],
        "version": current if current in versions else mine["version"] or theirs["version"],
        "onboarded": bool(mine["onboarded"] or theirs["onboarded"]),
    }


def apply_shared(turn: Turn, shared: dict[str, Any]) -> None:
    services, profile = turn.services, turn.profile
    locale = shared.get("locale")
    if locale and locale in services.languages and locale != profile.chosen_locale:
        profile.chosen_locale = locale
        turn.set_locale(locale)
    version = shared.get("version")
    newer = version == services.coc.version or profile.acknowledged_version is None
    if version and version != profile.acknowledged_version and newer:
        _agreed_elsewhere(turn, version)
    if shared.get("onboarded") and not profile.onboarded:
        profile.onboarded = True
        here = turn.frame.place if turn.frame is not None else None
        for place in drop_flows(turn, lambda f: f.dialog in ONBOARDING_FLOWS):
            if place != here:  # where the linking flow talks, it goes on by itself
                resume(turn, place)


def _agreed_elsewhere(turn: Turn, version: str) -> None:
    """The member agreed on a linked account: held silent here, they are let in."""
    held = turn.profile.acknowledged_version is None
    turn.profile.acknowledged_version = version
    turn.acknowledgements.append(version)
    turn.cancel("reminder")
    turn.record("acknowledged", turn.member.key, version)
    onboarding = turn.services.config.onboarding
    if held and onboarding.role and onboarding.acknowledgement_required:
        turn.outbox.append(GrantRole(turn.member, onboarding.role))


def after_turn(turn: Turn) -> None:
    """A shared value changed on this account: the linked ones follow."""
    if isinstance(turn.event, TimerFired) and turn.event.kind.startswith("identity:"):
        return
    # Most turns change no shared value: known without asking the store for links.
    stored, now = turn.stored_profile, shared_values(turn.profile)
    if stored is not None and stored_shared_values(stored) == now:
        return
    services = turn.services
    community, key = services.config.community_id, turn.member.key
    accounts = services.store.links.accounts(community, key)
    for account in accounts:
        if account.member != key:
            turn.signal(member_ref(account.member), SYNC, json.dumps(now))


def on_sync(turn: Turn, event: TimerFired) -> None:
    apply_shared(turn, json.loads(event.payload))
