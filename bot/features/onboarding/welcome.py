"""The welcome: a member who joins is greeted where the config says, reminded while
they have not agreed to the code of conduct, checked in with later, and asked again
when the code of conduct changes."""

from __future__ import annotations

from bot.core.actions import OfferPrivateChat, Restrict
from bot.core.events import MemberJoined, Place, PlaceKind, TimerFired
from bot.core.state import Frame
from bot.engine.flows import resume, start_dialog
from bot.engine.turn import Turn

ONBOARDING = "onboarding"
CHECKIN = "checkin"
REACKNOWLEDGE = "reacknowledge"
# The timers this feature sets; each starts a conversation the member did not ask for.
TIMERS = ("reminder", "checkin", "reacknowledge")


def welcome_place(turn: Turn) -> Place:
    onboarding = turn.services.config.onboarding
    if onboarding.welcome == "channel":
        return Place(turn.member.platform, PlaceKind.CHANNEL, onboarding.welcome_channel)
    return Place.direct(turn.member)


def on_join(turn: Turn) -> None:
    hold_until_agreed(turn)
    onboarding = _flow(turn, ONBOARDING)
    if onboarding is not None:
        assert onboarding.place is not None
        resume(turn, onboarding.place)
        return
    if turn.profile.onboarded:
        if turn.profile.acknowledged_version != turn.services.coc.version:
            start_dialog(turn, REACKNOWLEDGE, Place.direct(turn.member))
        return
    if not turn.services.config.onboarding.enabled:
        return
    place = welcome_place(turn)
    joined_at = turn.event.place if isinstance(turn.event, MemberJoined) else None
    if place.kind is PlaceKind.DIRECT and not turn.services.can(place.platform).direct_first:
        if joined_at is not None:
            # The bot may not write first: invite the member to a private chat, where
            # /start begins the onboarding.
            turn.outbox.append(
                OfferPrivateChat(
                    joined_at,
                    turn.member,
                    turn.text("onboarding.welcome_public"),
                    turn.text("onboarding.open_private"),
                )
            )
        return
    start_dialog(turn, ONBOARDING, place)


def hold_until_agreed(turn: Turn) -> None:
    """Where the platform holds newcomers silent, one who never agreed may not write
    where they joined until the onboarding grants them its role. Without onboarding
    nothing would ever let them in, so nobody is held."""
    joined_at = turn.event.place if isinstance(turn.event, MemberJoined) else None
    onboarding = turn.services.config.onboarding
    if joined_at is None or not onboarding.enabled or onboarding.role is None:
        return
    held = turn.services.can(joined_at.platform).restricts_newcomers
    if held and turn.profile.acknowledged_version is None:
        turn.outbox.append(Restrict(joined_at, turn.member))


def follow_to_direct(turn: Turn, place: Place) -> Frame | None:
    """The welcome begun in the welcome channel follows the member into their DM."""
    welcome = welcome_place(turn)
    moving = turn.conversation.active_in(welcome)
    if welcome.kind is PlaceKind.CHANNEL and moving and moving.dialog == ONBOARDING:
        moving.place = place  # the member moved to their DM: follow them
        return moving
    return None


def on_reminder(turn: Turn, event: TimerFired) -> None:
    onboarding = _flow(turn, ONBOARDING)
    if turn.profile.acknowledged_version is None and onboarding and not onboarding.queued:
        assert onboarding.place is not None
        turn.say("onboarding.reminder", place=onboarding.place)
        resume(turn, onboarding.place)  # the question standing there, asked again


def on_checkin(turn: Turn, event: TimerFired) -> None:
    start_dialog(turn, CHECKIN, Place.direct(turn.member))


def on_reacknowledge(turn: Turn, event: TimerFired) -> None:
    acknowledged = turn.profile.acknowledged_version
    if acknowledged != turn.services.coc.version and _flow(turn, REACKNOWLEDGE) is None:
        start_dialog(turn, REACKNOWLEDGE, Place.direct(turn.member))


def _flow(turn: Turn, dialog: str) -> Frame | None:
    return next((f for f in turn.conversation.frames if f.dialog == dialog), None)
