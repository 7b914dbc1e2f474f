"""``/share``: a member shows the moderators (and the mediator) of one of their own
cases that their linked accounts are theirs, after confirming; ``/unshare`` withdraws
it. Nothing else shows a link to anyone: no other case, no list. ``/unlink`` and
``/forget`` withdraw what was shared with the link itself (in the store)."""

from __future__ import annotations

from bot.core.actions import Choice
from bot.core.events import Place
from bot.dialogs.model import ActionCall
from bot.engine.flows import drop_flows, start_dialog
from bot.engine.people import account_shown
from bot.engine.turn import Command, Turn
from bot.features.identity.commands import KINDS, others
from bot.i18n import N_
from bot.i18n.locales import clean_user_text
from bot.store.cases import Case
from bot.store.types import iso
from bot.store.writes import ShareLinks, UnshareLinks

SHARE_DIALOG = "link_share"
# A member's part in a case they may share their links for (never a sanction's subject,
# never a report about them: they may not even know of it).
PARTIES = ("reporter", "requester", "party", "appellant")


def _own_cases(turn: Turn) -> list[Case]:
    services = turn.services
    cases = services.store.cases.of_member(services.config.community_id, turn.member.key)
    return [
        c
        for c in cases
        if c.kind in KINDS and (m := c.member(turn.member.key)) is not None and m.role in PARTIES
    ]


def _pseudonymous(case: Case) -> bool:
    """A report the moderators know only by an alias: sharing accounts would name it."""
    return case.kind == "report" and not (case.data.get("named") or case.data.get("revealed"))


def _label(turn: Turn, case: Case) -> str:
    return f"{turn.translator.gettext(KINDS[case.kind])} {case.shown}"


def _named(turn: Turn, cases: list[Case], words: tuple[str, ...]) -> list[Case]:
    """The member's cases ``report 3``, ``3`` or ``#3`` names (kind in any language)."""
    number = words[-1].lstrip("#") if words else ""
    kind = " ".join(words[:-1]).casefold()
    found = [c for c in cases if number.isdigit() and c.shown == int(number)]
    if kind:
        found = [c for c in found if kind in (c.kind, _label(turn, c).rsplit(" ", 1)[0].casefold())]
    return found


def run_share(turn: Turn, args: tuple[str, ...], place: Place) -> None:
    direct = Place.direct(turn.member)
    if not others(turn):
        turn.say("identity.nothing_linked", place=direct)
        return
    cases = _own_cases(turn)
    named = _named(turn, cases, args) if args else cases
    if args and not named:
        # The same answer for a case that is someone else's and one that does not exist.
        turn.say("identity.share_not_yours", place=direct, case=clean_user_text(" ".join(args), 30))
        return
    if args and len(named) == 1 and _pseudonymous(named[0]):
        turn.say("identity.share_pseudonymous", place=direct, case=_label(turn, named[0]))
        return
    named = [c for c in named if not _pseudonymous(c)]
    if not named:
        turn.say("identity.share_no_cases", place=direct)
        return
    drop_flows(turn, lambda f: f.dialog == SHARE_DIALOG)
    values = {"wanted": ",".join(str(c.id) for c in named)}
    start_dialog(turn, SHARE_DIALOG, direct, values, asked_for=True)


def share_choices(turn: Turn) -> list[Choice]:
    """The member's cases they may share for (only those ``/share`` named, if it did)."""
    wanted = turn.frame.values.get("wanted", "") if turn.frame else ""
    ids = set(wanted.split(",")) if wanted else None
    return [
        Choice(str(c.id), _label(turn, c))
        for c in _own_cases(turn)
        if not _pseudonymous(c) and (ids is None or str(c.id) in ids)
    ]


def _picked(turn: Turn) -> Case | None:
    """The case chosen, if it is still one the member may share for."""
    values = turn.frame.values if turn.frame else {}
    chosen = values.get("case_id", "")
    return next((c for c in _own_cases(turn) if str(c.id) == chosen and not _pseudonymous(c)), None)


def prepare_share(turn: Turn, call: ActionCall) -> str | None:
    """What the member is asked: this case, these accounts (and only these are shared)."""
    case = _picked(turn)
    accounts = others(turn)
    if case is None or not accounts or turn.frame is None:
        return "gone"
    shown = [account_shown(turn.services, key) for key in accounts]
    turn.frame.values.update(
        {"case": _label(turn, case), "accounts": "; ".join(shown), "keys": ",".join(accounts)}
    )
    return None


def share(turn: Turn, call: ActionCall) -> str | None:
    """Yes: the accounts the member was shown, and still linked, are shared."""
    case = _picked(turn)
    asked = turn.frame.values.get("keys", "").split(",") if turn.frame else []
    accounts = tuple(key for key in others(turn) if key in asked)
    if case is None or not accounts:
        return "gone"
    community = turn.services.config.community_id
    turn.writes.append(ShareLinks(community, case.id, turn.member.key, accounts, iso(turn.now)))
    turn.record("links_shared", turn.member.key, f"{case.kind} {case.shown}")
    return None


def run_unshare(turn: Turn, args: tuple[str, ...], place: Place) -> None:
    """``/unshare`` withdraws every disclosure this account is in, with all the member's
    accounts it showed; ``/unshare CASE`` the one for that case."""
    services = turn.services
    community, key = services.config.community_id, turn.member.key
    direct = Place.direct(turn.member)
    shared = services.store.links.disclosures_of(community, key)
    loaded = [services.store.cases.load(community, i) for i in {d.case_id for d in shared}]
    cases = sorted((c for c in loaded if c is not None), key=lambda c: c.id)
    chosen = _named(turn, cases, args) if args else cases
    if not chosen:
        turn.say("identity.nothing_shared", place=direct)
        return
    for case in chosen:
        # Whichever of the member's accounts shared it, and whichever it showed.
        for account in [key, *others(turn)]:
            turn.writes.append(UnshareLinks(community, account, case.id))
        turn.record("links_unshared", key, f"{case.kind} {case.shown}")
    labels = ", ".join(_label(turn, c) for c in chosen)
    turn.say("identity.unshared", place=direct, cases=labels)


COMMANDS: tuple[Command, ...] = (
    Command("share", run_share, private=True, help=N_("command.share")),
    Command("unshare", run_unshare, private=True, help=N_("command.unshare")),
)
