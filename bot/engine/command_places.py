"""Where a command is answered. A private command (reports, sanctions, appeals, cases,
a member's own data, mediation requests and session commands) is never answered in a
shared place: typed there, it still runs, but every reply goes to the sender's direct
messages, the sender is told there why, and the typed message is removed where the
platform allows. The README's "Where commands may be typed" is this module's table."""

from __future__ import annotations

from bot.core.actions import OfferPrivateChat, RemoveMessage
from bot.core.events import CommandRun, MemberRef, Place, PlaceKind
from bot.engine.people import is_moderator_member
from bot.engine.turn import MODERATORS_ROOM, SESSION_SPACE, Command, Services, Turn


def is_moderators_room(services: Services, place: Place) -> bool:
    """Every adapter names the moderators' room by the configured ``moderators.channel``
    (``#moderators`` on the console), whatever its id on the platform."""
    moderators = services.config.moderators
    return place.kind is PlaceKind.CHANNEL and moderators.is_room(place.platform, place.id)


def answer_place(turn: Turn, command: Command, typed_at: Place) -> Place:
    """Where this command's replies go when typed at ``typed_at``: where it was typed,
    or the sender's direct messages."""
    if answered_where_typed(turn.services, command, typed_at, turn.member, turn.event.roles):
        return typed_at
    return Place.direct(turn.member)


def answered_where_typed(
    services: Services,
    command: Command,
    typed_at: Place,
    member: MemberRef,
    roles: tuple[str, ...],
) -> bool:
    """Whether the command is answered where it was typed, for everyone there to read.
    A private command is, only in a direct message, its session's space, or (for a
    moderator) the moderators room."""
    if not command.private or typed_at.kind is PlaceKind.DIRECT:
        return True
    if command.also_in == SESSION_SPACE and typed_at.kind is PlaceKind.PRIVATE:
        return True
    return (
        command.also_in == MODERATORS_ROOM
        and is_moderator_member(services, member, roles)
        and is_moderators_room(services, typed_at)
    )


def answer_privately(turn: Turn, event: CommandRun, name: str, typed_at: Place) -> Place:
    """Send every reply of this turn to the sender's direct messages, say there why,
    and remove the typed command from the shared place."""
    direct = Place.direct(turn.member)
    turn.answer_place = direct
    if not event.unseen:
        turn.say("common.answered_privately", place=direct, command=name)
        turn.outbox.append(RemoveMessage(typed_at, turn.member, event.event_id))
        if not turn.services.can(typed_at.platform).direct_first:
            # The member may never have opened a private chat with the bot: then the
            # shared place learns how to open one, and nothing of the answer.
            offer = OfferPrivateChat(
                typed_at,
                turn.member,
                turn.text("common.open_private_for_answer"),
                turn.text("onboarding.open_private"),
                unless_reachable=True,
            )
            turn.outbox.append(offer)
    return direct
