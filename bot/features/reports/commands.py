"""``/report`` for members and ``/reports ...`` for moderators."""

from __future__ import annotations

from bot.core.events import Place, TimerFired
from bot.engine.flows import start_dialog
from bot.engine.people import display, is_moderator, member_ref, resolve, shared_accounts, tell
from bot.engine.turn import MODERATORS_ROOM, Command, Turn
from bot.features.reports import cases as reports
from bot.features.reports.actions import section_title
from bot.i18n import N_
from bot.i18n.locales import clean_user_text
from bot.store.cases import Case

REPORT_DIALOG, ANSWER_DIALOG = "report", "report_answer"
SUBCOMMANDS = ("list", "show", "claim", "ask", "status", "close", "reveal", "mute", "unmute")
# What an emergency contact who is not a moderator may do, on emergencies only.
READ_ONLY = ("list", "show")


def run_report(turn: Turn, args: tuple[str, ...], place: Place) -> None:
    """Always in a direct message; an emergency is never refused."""
    if not turn.services.config.reports.enabled:
        turn.say("report.disabled")
        return
    if turn.profile.extra.get("report_muted"):
        turn.say("report.muted")
        return
    start_dialog(turn, REPORT_DIALOG, Place.direct(turn.member), asked_for=True)


def run_reports(turn: Turn, args: tuple[str, ...], place: Place) -> None:
    """Moderators handle every report; an emergency contact who is not a moderator may
    read (list and show) the emergencies they are told about, and nothing else."""
    what = args[0].lower() if args else ""
    moderator = is_moderator(turn)
    if not moderator and not (reports.is_emergency_contact(turn) and what in READ_ONLY):
        _refuse(turn)
        return
    if what not in SUBCOMMANDS:
        turn.say("report.usage")
        return
    if what == "list":
        _list(turn, emergencies_only=not moderator)
        return
    if what in ("mute", "unmute"):
        _mute(turn, args[1:], what == "mute")
        return
    case = reports.load(turn, args[1]) if len(args) > 1 else None
    if case is not None and not moderator and not case.data.get("emergency"):
        _refuse(turn)
        return
    if case is None:
        shown = clean_user_text(args[1], 20) if len(args) > 1 else "-"
        turn.say("report.no_such_report", case=shown)
        return
    rest = " ".join(args[2:]).strip()
    ACTIONS[what](turn, case, rest)


def _refuse(turn: Turn) -> None:
    turn.record("command_refused", turn.member.key, "reports")
    turn.say("common.not_allowed", command="reports")


def _list(turn: Turn, emergencies_only: bool = False) -> None:
    cases = turn.services.store.cases.listing(turn.services.config.community_id, reports.KIND)
    open_cases = [
        c
        for c in cases
        if c.status != "closed" and (c.data.get("emergency") or not emergencies_only)
    ]
    if not open_cases:
        turn.say("report.none_open")
        return
    lines = [turn.text("report.list_heading")]
    for case in open_cases:
        status = turn.text(reports.STATUS_MESSAGES[case.status])
        flag = " !" if case.data.get("emergency") else ""
        lines.append(f"#{case.shown}{flag}: {status} ({reports.shown_reporter(case)})")
    turn.say_text("\n".join(lines))


def _show(turn: Turn, case: Case, rest: str) -> None:
    labels = {kind: turn.text(message) for kind, message in reports.LABELS.items()}
    lines = [
        turn.text(
            "report.show_heading",
            case=str(case.shown),
            status=turn.text(reports.STATUS_MESSAGES[case.status]),
        ),
        f"{labels['reporter']}: {reports.shown_reporter(case)}",
        f"{labels['section']}: {section_title(turn, case)}",
    ]
    if case.data.get("claimed_by"):
        lines.append(f"{labels['claimed']}: {case.data['claimed_by']}")
    if is_moderator(turn):  # not an emergency contact reading it
        lines += shared_accounts(turn, case)
    for text in turn.services.store.cases.texts(case.id):
        lines.append(f"[{labels.get(text.kind, text.kind)}] {text.text}")
    lines.append(turn.text("mediation.log_heading"))
    for at, who, action, detail in turn.services.store.cases.audit(case.id):
        lines.append(f"{at:%Y-%m-%d %H:%M} {who} {action} {detail}".rstrip())
    turn.say_text("\n".join(lines), place=Place.direct(turn.member))


def _claim(turn: Turn, case: Case, rest: str) -> None:
    case.data["claimed_by"] = turn.member.key
    reports.set_status(turn, case, "in_review")
    turn.say("report.claimed", case=str(case.shown))


def _ask(turn: Turn, case: Case, rest: str) -> None:
    """A question relayed to the reporter, who answers privately to the bot."""
    question = clean_user_text(rest, 1000)
    if not question:
        turn.say("mediation.needs_text")
        return
    case.data["question"] = question
    reports.audit(turn, case, "asked")
    reports.set_status(turn, case, "waiting")
    turn.signal(reports.reporter(case).member, f"report:ask:{case.shown}", str(case.shown))
    turn.say("report.asked", case=str(case.shown))


def _status(turn: Turn, case: Case, rest: str) -> None:
    status = rest.split()[0].lower() if rest else ""
    if status not in reports.STATUSES or status == "closed":
        turn.say(
            "report.bad_status", statuses=", ".join(s for s in reports.STATUSES if s != "closed")
        )
        return
    reports.set_status(turn, case, status)
    turn.say("report.status_set", case=str(case.shown))


def _close(turn: Turn, case: Case, rest: str) -> None:
    if not rest:
        turn.say("report.reason_required")
        return
    if case.status == "closed":
        turn.say("report.already_closed", case=str(case.shown))
        return
    reports.set_status(turn, case, "closed", clean_user_text(rest, 500))
    turn.say("report.closed_ack", case=str(case.shown))


def _reveal(turn: Turn, case: Case, rest: str) -> None:
    """Naming a pseudonymous reporter needs several distinct moderators; each approval
    and the reveal itself are in the audit log."""
    if case.data.get("named") or case.data.get("revealed"):
        turn.say("report.already_known", case=str(case.shown))
        return
    approvals: list[str] = list(case.data.get("reveal_approvals", []))
    if turn.member.key in approvals:
        turn.say("report.already_approved", case=str(case.shown))
        return
    approvals.append(turn.member.key)
    case.data["reveal_approvals"] = approvals
    reports.audit(turn, case, "reveal_approved")
    needed = turn.services.config.reports.reveal_approvals
    if len(approvals) < needed:
        pending = turn.ntext(
            "report.reveal_pending",
            "report.reveal_pending.plural",
            needed,
            case=str(case.shown),
            have=str(len(approvals)),
            needed=str(needed),
        )
        turn.say_text(pending)
    else:
        case.data["revealed"] = True
        reports.audit(turn, case, "revealed", ",".join(approvals))
        for key in approvals:
            tell(
                turn,
                member_ref(key),
                "report.revealed",
                case=str(case.shown),
                reporter=reports.shown_reporter(case),
            )
    reports.save(turn, case)


def _mute(turn: Turn, words: tuple[str, ...], muted: bool) -> None:
    target = resolve(turn, words[0]) if words else None
    if target is None:
        turn.say("mediation.unknown_member", member=clean_user_text(words[0], 60) if words else "-")
        return
    turn.signal(target, "report:mute" if muted else "report:unmute", "")
    turn.record("report_muted" if muted else "report_unmuted", target.key)
    message = N_("report.muted_ack") if muted else N_("report.unmuted_ack")
    turn.say(message, member=display(target))


ACTIONS = {
    "show": _show,
    "claim": _claim,
    "ask": _ask,
    "status": _status,
    "close": _close,
    "reveal": _reveal,
}

COMMANDS: tuple[Command, ...] = (
    Command("report", run_report, private=True, help=N_("command.report")),
    Command(
        "reports",
        run_reports,
        private=True,
        also_in=MODERATORS_ROOM,
        audience="moderator",
        also_for=("emergency",),
        help=N_("command.reports"),
        also_help=N_("command.reports_emergency"),
    ),
)


def on_report_signal(turn: Turn, event: TimerFired) -> None:
    """``report:ask:N`` starts the reporter's answer; ``report:mute`` marks the member."""
    parts = event.kind.split(":")
    if parts[1] in ("mute", "unmute"):
        turn.profile.extra["report_muted"] = parts[1] == "mute"
        return
    case = reports.load(turn, parts[2])
    if case is not None and case.status == "waiting":
        start_dialog(
            turn,
            ANSWER_DIALOG,
            Place.direct(turn.member),
            {"case": str(case.shown), "question": str(case.data.get("question", ""))},
        )
