"""``/link``: a one-time code asked for in a direct message on one platform, and sent
back from an account on another. A code is short, lives five minutes, works once and
is stored only as a hash; typed anywhere but a direct message it is refused and burnt."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from bot.core.actions import OfferPrivateChat, RemoveMessage
from bot.core.events import CommandRun, MemberRef, Place, PlaceKind, TextSaid
from bot.engine.flows import drop_flows, start_dialog
from bot.engine.turn import Turn
from bot.i18n import N_
from bot.store.links import LinkCode
from bot.store.types import iso
from bot.store.writes import BurnLinkCodes, ClaimLinkCode, IssueLinkCode

# No 0/O, 1/I/L: a code read aloud or copied by hand is not mistaken.
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
LENGTH = 6
VALID_FOR = timedelta(minutes=5)
# Once taken, how long the two confirmations may take.
CONFIRM_WITHIN = timedelta(minutes=15)
# At most this many codes per member in the window.
CODES_PER_WINDOW = 3
RATE_WINDOW = timedelta(minutes=15)
CLAIM_DIALOG = "link_claim"


def draw_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def code_hash(community: str, code: str) -> str:
    """What the store keeps of a code: never the code itself."""
    return hashlib.sha256(f"{community}\x00{code}".encode()).hexdigest()


def normalized(words: tuple[str, ...]) -> str:
    return "".join(words).replace("-", "").upper()


def platform_name(member_key: str) -> str:
    return member_key.partition(":")[0].capitalize()


def run_link(turn: Turn, args: tuple[str, ...], place: Place) -> None:
    event = turn.event
    typed_at = event.place if isinstance(event, CommandRun) and event.place else place
    if typed_at.kind is not PlaceKind.DIRECT:
        refuse_in_public(turn, args, typed_at)
    elif args:
        claim(turn, normalized(args), typed_at)
    else:
        issue(turn, typed_at)


def refuse_in_public(turn: Turn, args: tuple[str, ...], typed_at: Place) -> None:
    """Seen by others: the code typed (and any code of the sender's) stops working at
    once, the message is removed where the platform allows, and the sender is told
    in private."""
    community = turn.services.config.community_id
    typed = code_hash(community, normalized(args)) if args else ""
    turn.writes.append(BurnLinkCodes(community, typed, turn.member.key))
    event = turn.event
    direct = Place.direct(turn.member)
    turn.answer_place = direct
    turn.say("identity.not_in_public", place=direct)
    if not getattr(event, "unseen", False):
        turn.outbox.append(RemoveMessage(typed_at, turn.member, event.event_id))
        if not turn.services.can(typed_at.platform).direct_first:
            turn.outbox.append(
                OfferPrivateChat(
                    typed_at,
                    turn.member,
                    turn.text("common.open_private_for_answer"),
                    turn.text("onboarding.open_private"),
                    unless_reachable=True,
                )
            )


def guard_public(turn: Turn) -> None:
    """``/link`` typed in a channel where the platform passes it on as plain text (a
    Discord channel): refused, burnt and removed all the same."""
    event = turn.event
    if not isinstance(event, TextSaid) or event.place is None:
        return
    words = event.text.split()
    if event.place.kind is PlaceKind.CHANNEL and words and words[0].lower() == "/link":
        refuse_in_public(turn, tuple(words[1:]), event.place)


def issue(turn: Turn, direct: Place) -> None:
    links = turn.services.store.links
    community, key = turn.services.config.community_id, turn.member.key
    if links.codes_since(community, key, turn.now - RATE_WINDOW) >= CODES_PER_WINDOW:
        turn.say("identity.too_many_codes", place=direct)
        return
    code = draw_code()
    turn.writes.append(
        IssueLinkCode(
            community,
            code_hash(community, code),
            key,
            iso(turn.now),
            iso(turn.now + VALID_FOR),
            iso(turn.now - RATE_WINDOW),
        )
    )
    turn.say("identity.your_code", place=direct, code=code)


def claim(turn: Turn, code: str, direct: Place) -> None:
    services = turn.services
    community, key = services.config.community_id, turn.member.key
    hashed = code_hash(community, code)
    found = services.store.links.code(community, hashed)
    problem = _problem(turn, found)
    if problem is not None:
        turn.say(problem, place=direct)
        return
    assert found is not None
    turn.writes.append(
        ClaimLinkCode(community, hashed, key, iso(turn.now), iso(turn.now + CONFIRM_WITHIN))
    )
    drop_flows(turn, lambda f: f.dialog == CLAIM_DIALOG)
    values = {"code": hashed, "other": found.member, "platform": platform_name(found.member)}
    start_dialog(turn, CLAIM_DIALOG, direct, values, asked_for=True)


def _problem(turn: Turn, found: LinkCode | None) -> str | None:
    """Why this code cannot link this account, in words the member can act on."""
    if found is None:
        return N_("identity.wrong_code")
    if found.burnt:
        return N_("identity.code_burnt")
    if found.claimed_by is not None:
        return N_("identity.code_used")
    if found.expires_at <= turn.now:
        return N_("identity.code_expired")
    if found.member == turn.member.key:
        return N_("identity.same_account")
    if found.member.partition(":")[0] == turn.member.platform:
        return N_("identity.same_platform")
    return linked_problem(turn, found.member)


def linked_problem(turn: Turn, other: str) -> str | None:
    """Accounts already linked with each other, or each with others."""
    links = turn.services.store.links
    community = turn.services.config.community_id
    mine = links.accounts(community, turn.member.key)
    theirs = links.accounts(community, other)
    if mine and theirs:
        if mine[0].person == theirs[0].person:
            return N_("identity.already_linked")
        return N_("identity.linked_elsewhere")
    return None


def member_ref(key: str) -> MemberRef:
    platform, _, member_id = key.partition(":")
    return MemberRef(platform, member_id)
