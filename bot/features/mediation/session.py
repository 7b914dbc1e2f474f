"""Commands for the people in a joint mediation session: pause, floor, a private
word with the mediator, proposals, and leaving at any time."""

from __future__ import annotations

from bot.core.events import Place, PlaceKind
from bot.core.state import Frame
from bot.engine.people import display, resolve, tell
from bot.engine.turn import Turn
from bot.features.mediation import cases as med
from bot.features.mediation.agreement import close
from bot.i18n import N_
from bot.i18n.locales import clean_user_text
from bot.store.cases import Case


def set_pause(turn: Turn, case: Case, paused: bool) -> None:
    if case.status not in ("joint", "agreement"):
        turn.say("mediation.no_session", case=str(case.shown))
        return
    case.data["paused"] = paused
    med.announce(
        turn,
        case,
        N_("mediation.paused") if paused else N_("mediation.resumed"),
        name=display(turn.member),
    )
    med.audit(turn, case, "paused" if paused else "resumed")
    med.save(turn, case)


def session_case(turn: Turn, place: Place) -> Case | None:
    """The case whose session the member is in: the private space they typed in, or
    their innermost relay."""
    if place.kind is PlaceKind.PRIVATE:
        case = turn.services.store.cases.by_space(turn.services.config.community_id, place.id)
    else:
        frames = [f for f in turn.conversation.frames if f.dialog == med.RELAY]
        case = med.load(turn, frames[-1].values.get("case", "")) if frames else None
    if case is None or case.status not in ("joint", "agreement"):
        return None
    key = turn.member.key
    return case if case.member(key) is not None or case.mediator == key else None


def run_pause(turn: Turn, args: tuple[str, ...], place: Place) -> None:
    case = session_case(turn, place)
    if case is None:
        turn.say("mediation.not_in_session")
        return
    set_pause(turn, case, True)


def run_resume(turn: Turn, args: tuple[str, ...], place: Place) -> None:
    case = session_case(turn, place)
    if case is None or case.mediator != turn.member.key:
        turn.say("mediation.only_mediator")
        return
    set_pause(turn, case, False)


def run_floor(turn: Turn, args: tuple[str, ...], place: Place) -> None:
    """The mediator gives the floor to one party (``/floor bob``) or to all (``/floor``)."""
    case = session_case(turn, place)
    if case is None or case.mediator != turn.member.key:
        turn.say("mediation.only_mediator")
        return
    target = resolve(turn, args[0]) if args else None
    member = case.member(target.key) if target else None
    case.data["floor"] = member.key if member else ""
    if member:
        med.announce(turn, case, "mediation.floor_given", name=display(member.member))
    else:
        med.announce(turn, case, "mediation.floor_open")
    med.save(turn, case)


def run_private(turn: Turn, args: tuple[str, ...], place: Place) -> None:
    """A private word: a party to the mediator, or the mediator to one party."""
    case = session_case(turn, place)
    if case is None:
        turn.say("mediation.not_in_session")
        return
    words = list(args)
    if case.mediator == turn.member.key:
        target = resolve(turn, words.pop(0)) if words else None
        member = case.member(target.key) if target else None
        recipient = member.member if member else None
    else:
        recipient = med.mediator_of(turn, case)
    text = clean_user_text(" ".join(words), 2000)
    if recipient is None or not text:
        turn.say("mediation.private_usage")
        return
    tell(turn, recipient, "mediation.private_word", name=display(turn.member), text=text)
    turn.say("mediation.private_sent", place=Place.direct(turn.member))


def run_propose(turn: Turn, args: tuple[str, ...], place: Place) -> None:
    case = session_case(turn, place)
    text = clean_user_text(" ".join(args), 2000)
    if case is None or not text:
        message = N_("mediation.not_in_session") if case is None else N_("mediation.needs_text")
        turn.say(message)
        return
    turn.writes.append(
        turn.services.store.cases.add_text(
            case.id, turn.member.key, "proposal", text, True, turn.now
        )
    )
    med.announce(turn, case, "mediation.proposal", name=display(turn.member), text=text)
    med.audit(turn, case, "proposal")


def run_leave(turn: Turn, args: tuple[str, ...], place: Place) -> None:
    """Anyone may leave a mediation at any time; it then closes without agreement."""
    case = session_case(turn, place)
    if case is None:
        turn.say("mediation.not_in_session")
        return
    leave(turn, case)


def open_mediations(turn: Turn) -> tuple[list[Case], list[Case]]:
    """The open mediations the member is a party to, and those they mediate."""
    services = turn.services
    community, key = services.config.community_id, turn.member.key
    cases = services.store.cases
    parties = [c for c in cases.of_member(community, key) if c.kind == med.KIND and c.is_open]
    mediated = [c for c in cases.listing(community, med.KIND) if c.is_open and c.mediator == key]
    return parties, mediated


def in_open_mediation(turn: Turn) -> bool:
    return any(open_mediations(turn))


def withdraw_from_cases(turn: Turn) -> None:
    """``/forget``: the member leaves every mediation that is not over, so nothing
    pending names them and nobody waits on them."""
    parties, mediated = open_mediations(turn)
    for case in parties:
        withdraw(turn, case)
    for case in mediated:
        leave(turn, case)  # as when a mediator types /leave


def withdraw(turn: Turn, case: Case) -> None:
    """An invitee who goes has declined (the same neutral words); before the mediation
    starts, the others' invitations are withdrawn; after, it is as if they left."""
    member = case.member(turn.member.key)
    if member is not None and member.state.get("consent") == "pending":
        med.answer_invitation(turn, case, "declined")
    elif case.status in ("screening", "consent"):
        for other in case.others(turn.member.key):
            if other.state.get("consent") == "pending":
                turn.signal(other.member, f"case:withdrawn:{case.shown}", str(case.shown))
            else:
                tell(
                    turn,
                    other.member,
                    "mediation.left_session",
                    case=str(case.shown),
                    name=display(turn.member),
                )
        case.status = "cancelled"
        med.audit(turn, case, "withdrawn")
        med.save(turn, case)
    else:
        leave(turn, case)


def leave(turn: Turn, case: Case) -> None:
    """The others in the session (the mediator too, where no shared space shows it)
    hear who left; the case closes without agreement."""
    who = display(turn.member)
    med.announce(turn, case, N_("mediation.left_session"), exclude=turn.member.key, name=who)
    close(turn, case, "left")
    med.save(turn, case)


def relay_text(turn: Turn, frame: Frame, text: str) -> bool:
    """What a party writes in a running session goes to the others (True), not to the
    dialog."""
    if frame.dialog != med.RELAY:
        return False
    case = med.load(turn, frame.values.get("case", ""))
    if case is None or case.status not in ("joint", "agreement"):
        return False
    med.relay(turn, case, text)
    return True


def session_audiences(turn: Turn) -> set[str]:
    """Mediators (and mediation admins) see the mediators' and the session's commands; a
    member in a session sees the session's."""
    mediation, key = turn.services.config.mediation, turn.member.key
    found: set[str] = set()
    roles = turn.event.roles
    if "mediator" in roles or mediation.mediator(key) is not None or key in mediation.admins:
        found |= {"mediator", "session"}
    if any(frame.dialog == med.RELAY for frame in turn.conversation.frames):
        found.add("session")
    return found
