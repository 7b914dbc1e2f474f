"""Private incident reports: the record, the reporter's alias, status changes, and
what moderators may see. A pseudonymous reporter's identity appears in nothing a
moderator sees until the configured number of moderators approve a reveal."""

from __future__ import annotations

from datetime import timedelta

from bot.core.events import MemberRef
from bot.engine.people import display, locale_of, notify_moderators, tell, translator_of
from bot.engine.turn import Turn
from bot.i18n import N_
from bot.i18n.locales import clean_user_text, language_name
from bot.store.cases import Case, CaseMember, add_audit, save_case

KIND = "report"
STATUS_MESSAGES = {
    "received": N_("report.status.received"),
    "in_review": N_("report.status.in_review"),
    "waiting": N_("report.status.waiting"),
    "action_taken": N_("report.status.action_taken"),
    "closed": N_("report.status.closed"),
}
STATUSES = tuple(STATUS_MESSAGES)
RESOLVED = ("action_taken", "closed")
LABELS = {
    "what": N_("report.label.what"),
    "who": N_("report.label.who"),
    "when": N_("report.label.when"),
    "evidence": N_("report.label.evidence"),
    "details": N_("report.label.details"),
    "answer": N_("report.label.answer"),
    "reporter": N_("report.label.reporter"),
    "section": N_("report.label.section"),
    "claimed": N_("report.label.claimed"),
}
TEXT_KINDS = ("what", "who", "when", "evidence", "details", "answer")


def is_emergency_contact(turn: Turn) -> bool:
    return turn.member.key in turn.services.config.reports.emergency_contacts


def load(turn: Turn, number: str) -> Case | None:
    """A report by the number its reporter and the moderators read (``report 3``)."""
    try:
        shown = int(number.lstrip("#"))
    except ValueError:
        return None
    return turn.services.store.cases.find(turn.services.config.community_id, KIND, shown)


def reporter(case: Case) -> CaseMember:
    return case.members[0]


def shown_reporter(case: Case) -> str:
    """How moderators see the reporter: a stable alias unless named or revealed."""
    if case.data.get("named") or case.data.get("revealed"):
        member = reporter(case).member
        return f"{display(member)} ({member.key})"
    return str(case.data["alias"])


def actor(turn: Turn, case: Case) -> str:
    """The audit log names a pseudonymous reporter by alias only."""
    if turn.member.key == reporter(case).key and not case.data.get("named"):
        return str(case.data["alias"])
    return turn.member.key


def audit(turn: Turn, case: Case, action: str, detail: str = "") -> None:
    turn.writes.append(add_audit(case.id, actor(turn, case), action, detail, turn.now))


def save(turn: Turn, case: Case) -> None:
    turn.writes.append(save_case(case, turn.now))


def reports_today(turn: Turn) -> int:
    since = turn.now - timedelta(days=1)
    cases = turn.services.store.cases.of_member(turn.services.config.community_id, turn.member.key)
    return sum(
        1
        for c in cases
        if c.kind == KIND
        and c.opened_by == turn.member.key
        and c.created_at >= since
        and not c.data.get("emergency")
    )


def may_report(turn: Turn) -> str | None:
    """Why this member may not file a report now (a message id), or None."""
    if turn.profile.extra.get("report_muted"):
        return "report.muted"
    if reports_today(turn) >= turn.services.config.reports.per_day:
        return "report.limit"
    return None


def open_report(turn: Turn, data: dict[str, object]) -> Case:
    community = turn.services.config.community_id
    case_id, number = turn.new_case_numbers(KIND)
    alias = f"reporter-{number}"  # stable per case, and says nothing the number does not
    case = Case(
        case_id,
        community,
        KIND,
        "received",
        turn.member.key,
        turn.now,
        members=[CaseMember(turn.member, "reporter")],
        data={"alias": alias, **data},
        number=number,
    )
    save(turn, case)
    audit(turn, case, "reported")
    turn.count("reports:emergency" if data.get("emergency") else "reports:standard", always=True)
    return case


def add_text(turn: Turn, case: Case, kind: str, text: str) -> None:
    turn.writes.append(
        turn.services.store.cases.add_text(
            case.id, actor(turn, case), kind, clean_user_text(text, 4000), False, turn.now
        )
    )


def emergency(turn: Turn) -> Case:
    """Emergency contacts hear at once, with what they need to act: who, where to reach
    them, in which language."""
    case = open_report(turn, {"emergency": True, "named": True})
    contacts = turn.services.config.reports.emergency_contacts
    for key in contacts:
        platform, _, member_id = key.partition(":")
        tell(
            turn,
            MemberRef(platform, member_id),
            "report.emergency_notice",
            case=str(case.shown),
            name=display(turn.member),
            member=turn.member.key,
            # The reporter's language, named in the language the contact reads.
            language=language_name(turn.locale, locale_of(turn.services, key)),
        )
    notify_moderators(
        turn,
        "report.emergency_moderators",
        case=str(case.shown),
        name=display(turn.member),
        member=turn.member.key,
    )
    return case


def resources_for(turn: Turn) -> str:
    found = turn.services.config.reports.emergency_resources
    for code in (turn.locale, turn.locale.split("-")[0], "default"):
        if code in found:
            return found[code]
    return turn.text("report.emergency_resources")


def set_status(turn: Turn, case: Case, status: str, reason: str = "") -> None:
    """Every change of status is told to the reporter, in their language; the first
    change is the moderators' first response, and closing it (or acting) resolves it."""
    case.status = status
    for mark, done in (("responded", True), ("resolved", status in RESOLVED)):
        if done and not case.data.get(mark):
            case.data[mark] = True
            turn.count_wait(f"report_{mark}", case.created_at, always=True)
    member = reporter(case).member
    shown = tell_status(turn, member, case.id, status)
    if status == "closed":
        tell(turn, member, "report.closed", case=str(case.shown), reason=reason)
    else:
        tell(turn, member, "report.status_changed", case=str(case.shown), status=shown)
    audit(turn, case, "status", f"{status} {reason}".strip())
    save(turn, case)


def tell_status(turn: Turn, member: MemberRef, case_id: int, status: str) -> str:
    return translator_of(turn.services, member.key).gettext(STATUS_MESSAGES[status])
