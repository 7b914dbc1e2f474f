"""Structured, consent-based mediation: the life of a mediation case.

Each function here is one step of the process in ``shared/mediation.md``: a request,
invitations that members may decline without giving reasons, a mediator who is never
a party or in conflict, private statements, a joint session, an agreement each party
confirms, and a close that deletes private statements unless policy says otherwise.
Changes to another member's conversation go through signals (see ``Turn.signal``).
"""

from __future__ import annotations

from datetime import date

from bot.config.mediation import MediatorEntry
from bot.core.actions import NotifyModerators, OpenPrivateSpace, Say
from bot.core.events import MemberRef, Place, PlaceKind
from bot.engine.people import display, locale_of, member_ref, profile_of, tell
from bot.engine.turn import Turn
from bot.i18n import N_
from bot.i18n.catalogs import Translator
from bot.i18n.locales import clean_user_text, isolate, language_name
from bot.store.cases import (
    Case,
    CaseMember,
    add_audit,
    add_block,
    add_invitation,
    save_case,
    set_invitation,
)
from bot.store.types import iso

KIND = "mediation"
# How each status reads, for /case list and /case show.
# What a party said to the invitation, as a mediator reads it in /case show.
CONSENT_MESSAGES = {
    "pending": N_("mediation.consent.pending"),
    "accepted": N_("mediation.consent.accepted"),
    "declined": N_("mediation.consent.declined"),
}
STATUS_MESSAGES = {
    "screening": N_("mediation.status.screening"),
    "consent": N_("mediation.status.consent"),
    "waiting": N_("mediation.status.waiting"),
    "statements": N_("mediation.status.statements"),
    "joint": N_("mediation.status.joint"),
    "agreement": N_("mediation.status.agreement"),
    "closed": N_("mediation.status.closed"),
    "declined": N_("mediation.status.declined"),
    "screened_out": N_("mediation.status.screened_out"),
    "cancelled": N_("mediation.status.cancelled"),
}
REQUEST, CONSENT, STATEMENT = "mediation_request", "mediation_consent", "mediation_statement"
CONFIRM, FOLLOWUP, RELAY = "mediation_confirm", "mediation_followup", "mediation_relay"
STATEMENT_KINDS = ("statement_what", "statement_affected", "statement_need")


def load(turn: Turn, number: int | str) -> Case | None:
    """A mediation case by the number its members and mediators read (``case 3``), as
    typed and as kept in timers, signals and conversations. Numbers given before cases
    were numbered per kind were their ids, and migration 5 kept them as numbers."""
    try:
        shown = int(str(number).lstrip("#"))
    except ValueError:
        return None
    return turn.services.store.cases.find(turn.services.config.community_id, KIND, shown)


def save(turn: Turn, case: Case) -> None:
    turn.writes.append(save_case(case, turn.now))


def audit(turn: Turn, case: Case, action: str, detail: str = "") -> None:
    turn.writes.append(add_audit(case.id, turn.member.key, action, detail, turn.now))


def mediator_of(turn: Turn, case: Case) -> MemberRef | None:
    if case.mediator is None:
        return None
    entry = turn.services.config.mediation.mediator(case.mediator)
    return member_ref(case.mediator, entry.name if entry else "")


def participants(turn: Turn, case: Case) -> list[MemberRef]:
    people = [m.member for m in case.members]
    mediator = mediator_of(turn, case)
    return [*people, mediator] if mediator else people


def someone_erased(case: Case) -> bool:
    """A party erased by ``/forget`` is kept only as an anonymous place in the record."""
    return any(not m.member.platform for m in case.members)


def names(case: Case, exclude: str = "") -> str:
    return ", ".join(display(m.member) for m in case.members if m.key != exclude)


# Request and invitations ----------------------------------------------------------------


def invitation_refusal(turn: Turn, target: MemberRef) -> str | None:
    """Why an invitation may not be sent (a message id), or None. Refusals never say
    whether the target declined, blocked or simply reached a limit."""
    services = turn.services
    settings = services.config.mediation
    records, community = services.store.cases, services.config.community_id
    since = turn.now - settings.invitation_window
    cannot = N_("mediation.cannot_invite")
    if records.refused(community, turn.member.key, target.key, since):
        return cannot
    sent = records.invitations_since(community, since, requester=turn.member.key)
    if sent >= settings.invitations_per_requester:
        return N_("mediation.limit_reached")
    received = records.invitations_since(community, since, target=target.key)
    if received >= settings.invitations_per_target:
        return cannot
    profile = profile_of(services, target.key)
    if profile is not None and profile.extra.get("quiet"):
        return cannot
    return None


def open_case(turn: Turn, parties: list[MemberRef], *, by_mediator: bool = False) -> Case:
    services = turn.services
    community = services.config.community_id
    case_id, number = turn.new_case_numbers(KIND)
    members = [] if by_mediator else [CaseMember(turn.member, "requester")]
    members += [CaseMember(p, "party", {"consent": "pending"}) for p in parties]
    case = Case(case_id, community, KIND, "screening", turn.member.key, turn.now, members=members)
    case.number = number
    if by_mediator:
        case.mediator = turn.member.key
    save(turn, case)
    audit(turn, case, "opened", ",".join(p.key for p in parties))
    turn.count("mediation_requests")
    return case


def send_invitations(turn: Turn, case: Case) -> None:
    deadline = turn.now + turn.services.config.mediation.consent_timeout
    for member in case.members:
        if member.state.get("consent") != "pending":
            continue
        turn.writes.append(
            add_invitation(case.community, case.opened_by, member.key, case.id, turn.now)
        )
        member.state["expires_at"] = iso(deadline)  # said as it stands when shown
        turn.signal(member.member, f"case:invite:{case.shown}", str(case.shown))
        turn.schedule(f"case:expire:{case.shown}", deadline, str(case.shown), member.member)
    case.status = "consent"
    save(turn, case)
    audit(turn, case, "invited")


def mediator_name(turn: Turn, case: Case) -> str | None:
    mediator = mediator_of(turn, case)
    return display(mediator) if mediator else None


def answer_invitation(turn: Turn, case: Case, outcome: str) -> None:
    """``accepted``, ``declined``, ``blocked`` or ``expired``."""
    member = case.member(turn.member.key)
    if member is None or member.state.get("consent") != "pending" or not case.is_open:
        return
    member.state["consent"] = "accepted" if outcome == "accepted" else "declined"
    turn.cancel(f"case:expire:{case.shown}")
    turn.writes.append(set_invitation(case.id, member.key, outcome))
    if outcome == "blocked":
        turn.writes.append(add_block(case.community, member.key, case.opened_by, turn.now))
    audit(turn, case, "consent", outcome)
    if outcome != "accepted":
        end_without_consent(turn, case)
        save(turn, case)
        return
    turn.count("mediation_acceptances")
    if all(m.state.get("consent", "accepted") == "accepted" for m in case.members):
        assign_mediator(turn, case)
    save(turn, case)


def end_without_consent(turn: Turn, case: Case) -> None:
    """Everyone else hears the same neutral words: declined or no answer."""
    case.status = "declined"
    for member in case.others(turn.member.key):
        if member.state.get("consent") == "pending":
            turn.signal(member.member, f"case:withdrawn:{case.shown}", str(case.shown))
        tell(turn, member.member, "mediation.not_going_ahead", case=str(case.shown))
    mediator = mediator_of(turn, case)
    if mediator is not None and mediator.key != turn.member.key:
        tell(turn, mediator, "mediation.not_going_ahead", case=str(case.shown))


# Mediators ----------------------------------------------------------------------------


def may_mediate(turn: Turn, case: Case, entry: MediatorEntry, today: date) -> bool:
    """Never a party, never in conflict with one, within capacity, in term."""
    if case.member(entry.member) is not None or not entry.in_term(today):
        return False
    if any(m.key in entry.conflicts for m in case.members):
        return False
    load = turn.services.store.cases.mediator_load(case.community, entry.member)
    return load < entry.capacity


def assign_mediator(turn: Turn, case: Case, chosen: MediatorEntry | None = None) -> None:
    if case.mediator is None:
        chosen = chosen or best_mediator(turn, case)
        if chosen is None:
            case.status = "waiting"
            text = turn.services.catalogs.translator(turn.services.config.default_language)
            notice = text.format(
                "mediation.needs_mediator",
                case=str(case.shown),
                languages=", ".join(
                    language_name(code, text.locale) for code in parties_languages(turn, case)
                ),
            )
            turn.outbox.append(NotifyModerators(turn.member.platform, notice))
            audit(turn, case, "waiting_for_mediator")
            return
        case.mediator = chosen.member
        audit(turn, case, "mediator_assigned", chosen.member)
    mediator = mediator_of(turn, case)
    assert mediator is not None
    tell(turn, mediator, "mediation.assigned", case=str(case.shown), parties=names(case))
    case.status = "statements"
    for member in case.members:
        member.state["statement"] = "pending"
        turn.signal(member.member, f"case:statement:{case.shown}", str(case.shown))


def parties_languages(turn: Turn, case: Case) -> list[str]:
    return sorted({locale_of(turn.services, m.key) for m in case.members})


def best_mediator(turn: Turn, case: Case) -> MediatorEntry | None:
    today = turn.now.date()
    languages = {code.split("-")[0] for code in parties_languages(turn, case)}
    eligible = [
        entry
        for entry in turn.services.config.mediation.mediators
        if not entry.away and may_mediate(turn, case, entry, today)
    ]

    def score(entry: MediatorEntry) -> tuple[int, int]:
        spoken = {code.split("-")[0] for code in entry.languages}
        load = turn.services.store.cases.mediator_load(case.community, entry.member)
        return (-len(spoken & languages), load)

    return min(eligible, key=score) if eligible else None


# Statements and the joint session -----------------------------------------------------


def save_statement(turn: Turn, case: Case, answers: dict[str, str], shared: bool) -> None:
    member = case.member(turn.member.key)
    if member is None or member.state.get("statement") != "pending":
        return
    for kind in STATEMENT_KINDS:
        text = clean_user_text(answers.get(kind, ""), 4000)
        turn.writes.append(
            turn.services.store.cases.add_text(case.id, member.key, kind, text, shared, turn.now)
        )
    member.state["statement"] = "shared" if shared else "private"
    audit(turn, case, "statement")
    mediator = mediator_of(turn, case)
    if mediator is not None:
        tell(
            turn,
            mediator,
            "mediation.statement_received",
            case=str(case.shown),
            name=display(turn.member),
        )
    if all(m.state.get("statement") in ("shared", "private") for m in case.members):
        start_session(turn, case, {member.key: answers} if shared else {})
    save(turn, case)


def _space_id(turn: Turn, case: Case) -> str:
    """A platform keeps one room or thread per space id, and every community of a
    deployment has its own case 1: there the id names the community too."""
    config = turn.services.config
    if config.of_deployment:
        return f"case-{config.community_id}-{case.shown}"
    return f"case-{case.shown}"


def start_session(turn: Turn, case: Case, fresh: dict[str, dict[str, str]]) -> None:
    """A private space where the platform has one for everybody, else a relay
    through direct messages."""
    case.status = "joint"
    case.data.update({"paused": False, "floor": ""})
    people = participants(turn, case)
    platforms = {p.platform for p in people}
    platform = people[0].platform
    if len(platforms) == 1 and turn.services.can(platform).private_spaces:
        case.space = _space_id(turn, case)
        title = turn.text("mediation.space_title", case=str(case.shown))
        turn.outbox.append(OpenPrivateSpace(case.space, title, tuple(people)))
        announce(turn, case, "mediation.ground_rules")
        for locale in space_locales(turn, case):
            translator = turn.services.catalogs.translator(locale)
            for text in shared_statements(turn, case, fresh, translator):
                turn.outbox.append(Say(space_place(turn, case), text))
    else:
        case.data["relay"] = True
        for person in people:
            turn.signal(person, f"case:relay:{case.shown}", str(case.shown))
    audit(turn, case, "joint_session", "space" if case.space else "relay")


def shared_statements(
    turn: Turn, case: Case, fresh: dict[str, dict[str, str]], translator: Translator | None = None
) -> list[str]:
    """Statements whose authors agreed to share them (read from the store, plus the one
    saved in this very event)."""
    found: dict[str, dict[str, str]] = {k: dict(v) for k, v in fresh.items()}
    for text in turn.services.store.cases.texts(case.id):
        if text.shared and text.kind in STATEMENT_KINDS:
            found.setdefault(text.author, {})[text.kind] = text.text
    reader = translator or turn.translator
    result = []
    for member in case.members:
        answers = found.get(member.key)
        if answers:
            values = {
                "name": display(member.member),
                "what": answers.get("statement_what", ""),
                "affected": answers.get("statement_affected", ""),
                "need": answers.get("statement_need", ""),
            }
            shown = {k: isolate(v, reader.locale) for k, v in values.items()}
            result.append(reader.format("mediation.shared_statement", **shown))
    return result


def relay(turn: Turn, case: Case, text: str) -> None:
    """Forward a message to everyone else in the session, labelled with its author,
    in each reader's language; respects a pause and who has the floor."""
    sender = turn.member.key
    if case.data.get("paused"):
        turn.say("mediation.paused_no_send")
        return
    floor = case.data.get("floor", "")
    if floor and sender not in (floor, case.mediator):
        turn.say("mediation.not_your_turn")
        return
    said = clean_user_text(text, 2000)
    for person in participants(turn, case):
        if person.key != sender:
            tell(turn, person, "mediation.relayed", name=display(turn.member), text=said)


def announce(turn: Turn, case: Case, message: str, exclude: str = "", **values: str) -> None:
    """A notice to everyone in the session, each in their own language: in a shared
    space, once in each language spoken there; relayed, to everyone but ``exclude``."""
    if case.space:
        for locale in space_locales(turn, case):
            text = turn.services.catalogs.translator(locale).format(
                message, case=str(case.shown), **{k: isolate(v, locale) for k, v in values.items()}
            )
            turn.outbox.append(Say(space_place(turn, case), text))
        return
    for person in participants(turn, case):
        if person.key != exclude:
            tell(turn, person, message, case=str(case.shown), **values)


def space_place(turn: Turn, case: Case) -> Place:
    assert case.space is not None
    return Place(participants(turn, case)[0].platform, PlaceKind.PRIVATE, case.space)


def space_locales(turn: Turn, case: Case) -> list[str]:
    locales = (locale_of(turn.services, p.key) for p in participants(turn, case))
    return list(dict.fromkeys(locales))


def in_left_state(turn: Turn, member: MemberRef) -> bool:
    profile = profile_of(turn.services, member.key)
    return profile is not None and profile.left
