"""Commands of mediation: ``/mediate`` for members, ``/case ...`` for mediators and
admins, and the joint-session commands (``/pause``, ``/floor``, ``/private``, ...).

Every command checks who may run it; nothing about a case is ever said in a public
channel: replies go to direct messages or the case's private space.
"""

from __future__ import annotations

from bot.config.mediation import MediatorEntry
from bot.core.actions import NotifyModerators
from bot.core.events import Place
from bot.engine.flows import start_dialog
from bot.engine.people import display, is_bot, resolve, shared_accounts
from bot.engine.turn import SESSION_SPACE, Command, Turn
from bot.features.mediation import cases as med
from bot.features.mediation.agreement import close, propose_agreement, reopen
from bot.features.mediation.session import (
    run_floor,
    run_leave,
    run_pause,
    run_private,
    run_propose,
    run_resume,
    set_pause,
)
from bot.i18n import N_
from bot.i18n.locales import clean_user_text, language_name
from bot.store.cases import Case, add_audit


def run_mediate(turn: Turn, args: tuple[str, ...], place: Place) -> None:
    """``/mediate bob``: ask for mediation with one or more members."""
    if not turn.services.config.mediation.enabled:
        turn.say("mediation.disabled")
        return
    if not args:
        turn.say("mediation.usage")
        return
    parties = []
    for word in args[:5]:
        shown = clean_user_text(word, 60)
        if is_bot(word.lstrip("@")):
            turn.say("mediation.not_a_bot", member=shown)
            return
        target = resolve(turn, word)
        if target is None:
            turn.say("mediation.unknown_member", member=shown)
            return
        if target.key == turn.member.key:
            turn.say("mediation.not_yourself")
            return
        if med.in_left_state(turn, target):
            turn.say("mediation.member_left", member=display(target))
            return
        refusal = med.invitation_refusal(turn, target)
        if refusal:
            turn.say(refusal, member=display(target))
            return
        if target not in parties:
            parties.append(target)
    case = med.open_case(turn, parties)
    names = ", ".join(display(p) for p in parties)
    start_dialog(
        turn,
        med.REQUEST,
        Place.direct(turn.member),
        {"case": str(case.shown), "others": names},
        asked_for=True,
    )


def run_mediators(turn: Turn, args: tuple[str, ...], place: Place) -> None:
    """Who is available to mediate, in which languages (names and languages only)."""
    today = turn.now.date()
    lines = [turn.text("mediation.mediators_heading")]
    for entry in turn.services.config.mediation.mediators:
        if entry.away or not entry.in_term(today):
            continue
        spoken = ", ".join(language_name(code, turn.locale) for code in entry.languages)
        lines.append(f"- {entry.name}: {spoken}")
    if len(lines) == 1:
        lines.append(turn.text("mediation.no_mediators"))
    turn.say_text("\n".join(lines))


def _roster(turn: Turn) -> MediatorEntry | None:
    return turn.services.config.mediation.mediator(turn.member.key)


def _is_admin(turn: Turn) -> bool:
    return turn.member.key in turn.services.config.mediation.admins


CASE_SUBCOMMANDS = (
    "list",
    "show",
    "take",
    "open",
    "note",
    "pause",
    "resume",
    "agreement",
    "close",
    "escalate",
    "reopen",
)


def run_case(turn: Turn, args: tuple[str, ...], place: Place) -> None:
    """``/case <what> N ...``: mediators and admins only; a case's details only for its
    own mediator and admins."""
    entry, admin = _roster(turn), _is_admin(turn)
    if entry is None and not admin:
        turn.record("command_refused", turn.member.key, "case")
        turn.say("common.not_allowed", command="case")
        return
    what = args[0].lower() if args else ""
    if what not in CASE_SUBCOMMANDS:
        turn.say("mediation.case_usage")
        return
    if what == "list":
        _list(turn, entry, admin)
        return
    if what == "open":
        _open(turn, args[1:], entry)
        return
    if len(args) < 2:
        turn.say("mediation.case_usage")
        return
    case = med.load(turn, args[1])
    if case is None or not _may_see(turn, case, entry, admin, what):
        # One answer whether the case does not exist or is someone else's: a mediator
        # learns nothing about cases that are not theirs.
        if case is not None:
            turn.writes.append(add_audit(case.id, turn.member.key, "refused", what, turn.now))
        turn.say("mediation.no_case_for_you", case=clean_user_text(args[1], 20))
        return
    rest = " ".join(args[2:]).strip()
    if what == "take":
        _take(turn, case, entry)
        return
    CASE_ACTIONS[what](turn, case, rest)


def _may_see(turn: Turn, case: Case, entry: MediatorEntry | None, admin: bool, what: str) -> bool:
    """Admins see every case, a mediator their own; any mediator may take a case that
    waits for one (``/case list`` shows those)."""
    if admin or case.mediator == turn.member.key:
        return True
    return what == "take" and entry is not None and _waiting(case)


def _waiting(case: Case) -> bool:
    return case.mediator is None and case.status == "waiting"


def _list(turn: Turn, entry: MediatorEntry | None, admin: bool) -> None:
    cases = turn.services.store.cases.listing(turn.services.config.community_id, med.KIND)
    shown = [
        c for c in cases if c.is_open and (admin or c.mediator == turn.member.key or _waiting(c))
    ]
    if not shown:
        turn.say("mediation.no_cases")
        return
    lines = [turn.text("mediation.cases_heading")]
    for case in shown:
        status = turn.text(med.STATUS_MESSAGES[case.status])
        lines.append(f"#{case.shown}: {status}")
    turn.say_text("\n".join(lines))


def _open(turn: Turn, words: tuple[str, ...], entry: MediatorEntry | None) -> None:
    """A mediator opens a case for members, who are then invited like any others."""
    if entry is None or not entry.in_term(turn.now.date()):
        turn.say("mediation.term_expired")
        return
    parties = []
    for word in words[:5]:
        target = resolve(turn, word)
        if target is None or target.key == turn.member.key or is_bot(word.lstrip("@")):
            turn.say("mediation.unknown_member", member=clean_user_text(word, 60))
            return
        parties.append(target)
    if len(parties) < 2:
        turn.say("mediation.open_usage")
        return
    case = med.open_case(turn, parties, by_mediator=True)
    med.send_invitations(turn, case)
    turn.say("mediation.opened_for", case=str(case.shown))


def _take(turn: Turn, case: Case, entry: MediatorEntry | None) -> None:
    if entry is None:
        turn.say("common.not_allowed", command="case take")
        return
    if not entry.in_term(turn.now.date()):
        turn.say("mediation.term_expired")
        return
    if case.mediator is not None or case.status != "waiting":
        turn.say("mediation.already_taken", case=str(case.shown))
        return
    if not med.may_mediate(turn, case, entry, turn.now.date()):
        turn.say("mediation.cannot_take", case=str(case.shown))
        return
    med.assign_mediator(turn, case, entry)
    med.save(turn, case)
    turn.say("mediation.taken", case=str(case.shown))


def _show(turn: Turn, case: Case, rest: str) -> None:
    records = turn.services.store.cases
    lines = [
        turn.text(
            "mediation.show_heading",
            case=str(case.shown),
            status=turn.text(med.STATUS_MESSAGES[case.status]),
        )
    ]
    for member in case.members:
        consent = member.state.get("consent", "accepted")
        said = med.CONSENT_MESSAGES.get(consent)
        lines.append(
            f"- {display(member.member)} ({member.key}): {turn.text(said) if said else consent}"
        )
    lines += shared_accounts(turn, case)
    labels = {
        "statement_what": turn.text("mediation.label_what"),
        "statement_affected": turn.text("mediation.label_affected"),
        "statement_need": turn.text("mediation.label_need"),
        "description": turn.text("mediation.label_description"),
        "note": turn.text("mediation.label_note"),
        "proposal": turn.text("mediation.label_proposal"),
    }
    for text in records.texts(case.id):
        lines.append(f"[{labels.get(text.kind, text.kind)}] {text.author}: {text.text}")
    if case.data.get("agreement"):
        label = turn.text("mediation.label_agreement")
        lines.append(f"[{label}] {case.data['agreement']}")
    lines.append(turn.text("mediation.log_heading"))
    for at, actor, action, detail in records.audit(case.id):
        lines.append(f"{at:%Y-%m-%d %H:%M} {actor} {action} {detail}".rstrip())
    turn.say_text("\n".join(lines), place=Place.direct(turn.member))


def _note(turn: Turn, case: Case, rest: str) -> None:
    if not rest:
        turn.say("mediation.needs_text")
        return
    turn.writes.append(
        turn.services.store.cases.add_text(
            case.id, turn.member.key, "note", clean_user_text(rest, 2000), False, turn.now
        )
    )
    med.audit(turn, case, "note")
    turn.say("mediation.noted", case=str(case.shown))


def _pause(turn: Turn, case: Case, rest: str) -> None:
    set_pause(turn, case, True)


def _resume(turn: Turn, case: Case, rest: str) -> None:
    set_pause(turn, case, False)


def _agreement(turn: Turn, case: Case, rest: str) -> None:
    if not rest:
        turn.say("mediation.needs_text")
        return
    if case.status not in ("joint", "agreement"):
        turn.say("mediation.no_session", case=str(case.shown))
        return
    propose_agreement(turn, case, rest)
    med.save(turn, case)
    turn.say("mediation.agreement_sent", case=str(case.shown))


def _close(turn: Turn, case: Case, rest: str) -> None:
    if not rest:
        turn.say("mediation.reason_required")
        return
    if not case.is_open:
        turn.say("mediation.already_closed", case=str(case.shown))
        return
    close(turn, case, rest)
    med.save(turn, case)
    turn.say("mediation.case_closed", case=str(case.shown))


def _escalate(turn: Turn, case: Case, rest: str) -> None:
    text = turn.services.catalogs.translator(turn.services.config.default_language).format(
        "mediation.escalated_notice", case=str(case.shown)
    )
    turn.outbox.append(NotifyModerators(turn.member.platform, text))
    case.data["escalated"] = True
    med.audit(turn, case, "escalated")
    med.save(turn, case)
    turn.say("mediation.escalated", case=str(case.shown))


def _reopen(turn: Turn, case: Case, rest: str) -> None:
    if case.status != "closed":
        turn.say("mediation.not_closed", case=str(case.shown))
        return
    reopen(turn, case)
    med.save(turn, case)
    turn.say("mediation.reopened_ack", case=str(case.shown))


CASE_ACTIONS = {
    "show": _show,
    "note": _note,
    "pause": _pause,
    "resume": _resume,
    "agreement": _agreement,
    "close": _close,
    "escalate": _escalate,
    "reopen": _reopen,
}


COMMANDS: tuple[Command, ...] = (
    Command("mediate", run_mediate, private=True, help=N_("command.mediate")),
    Command("mediators", run_mediators, help=N_("command.mediators")),
    Command("case", run_case, private=True, help=N_("command.case"), audience="mediator"),
    Command(
        "pause",
        run_pause,
        private=True,
        also_in=SESSION_SPACE,
        help=N_("command.pause"),
        audience="session",
    ),
    Command(
        "resume",
        run_resume,
        private=True,
        also_in=SESSION_SPACE,
        help=N_("command.resume"),
        audience="mediator",
    ),
    Command(
        "floor",
        run_floor,
        private=True,
        also_in=SESSION_SPACE,
        help=N_("command.floor"),
        audience="mediator",
    ),
    Command(
        "private",
        run_private,
        private=True,
        also_in=SESSION_SPACE,
        help=N_("command.private"),
        audience="session",
    ),
    Command(
        "propose",
        run_propose,
        private=True,
        also_in=SESSION_SPACE,
        help=N_("command.propose"),
        audience="session",
    ),
    Command(
        "leave",
        run_leave,
        private=True,
        also_in=SESSION_SPACE,
        help=N_("command.leave"),
        audience="session",
    ),
)
