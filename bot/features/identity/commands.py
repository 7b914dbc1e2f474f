"""``/unlink``, ``/mycases``, and what ``/forget`` asks about linked accounts."""

from __future__ import annotations

from bot.core.events import Place, TimerFired
from bot.dialogs.model import ActionCall
from bot.engine.people import forget_now
from bot.engine.turn import Command, Turn
from bot.features.identity.codes import member_ref, platform_name, run_link
from bot.i18n import N_
from bot.store.cases import Case
from bot.store.writes import RemoveLink

FORGET = "identity:forget"
KINDS = {
    "report": N_("identity.kind_report"),
    "mediation": N_("identity.kind_mediation"),
    "appeal": N_("identity.kind_appeal"),
}


def others(turn: Turn) -> list[str]:
    community, key = turn.services.config.community_id, turn.member.key
    return [a.member for a in turn.services.store.links.accounts(community, key) if a.member != key]


def run_unlink(turn: Turn, args: tuple[str, ...], place: Place) -> None:
    """At once: this account is linked to nothing; the others are told."""
    accounts = others(turn)
    if not accounts:
        turn.say("identity.nothing_linked", place=place)
        return
    turn.writes.append(RemoveLink(turn.services.config.community_id, turn.member.key))
    for other in accounts:
        turn.signal(member_ref(other), "identity:unlinked", turn.member.platform)
    turn.record("unlinked", turn.member.key)
    turn.say("identity.unlinked", place=place)


def on_unlinked(turn: Turn, event: TimerFired) -> None:
    turn.say(
        "identity.unlinked_other",
        place=Place.direct(turn.member),
        platform=event.payload.capitalize(),
    )


def run_mycases(turn: Turn, args: tuple[str, ...], place: Place) -> None:
    """The member's own cases, and those of the linked accounts that share theirs."""
    services = turn.services
    community, key = services.config.community_id, turn.member.key
    accounts = services.store.links.accounts(community, key)
    sources = [key] + [a.member for a in accounts if a.member != key and a.share_cases]
    lines = []
    for source in sources:
        for case in services.store.cases.of_member(community, source):
            lines.append(_case_line(turn, case, source))
    if not lines:
        turn.say("identity.no_cases", place=place)
        return
    turn.say_text("\n".join([turn.text("identity.your_cases"), *lines]), place=place)


def _case_line(turn: Turn, case: Case, source: str) -> str:
    kind = turn.translator.gettext(KINDS[case.kind]) if case.kind in KINDS else case.kind
    state = turn.text(N_("identity.case_open") if case.is_open else N_("identity.case_closed"))
    line = f"- {kind} {case.shown}: {state}"
    if source != turn.member.key:
        line += " " + turn.text("identity.from_platform", platform=platform_name(source))
    return line


def has_links(turn: Turn, call: ActionCall) -> str | None:
    return "linked" if others(turn) else None


def forget_linked(turn: Turn, call: ActionCall) -> str | None:
    """The linked accounts are forgotten too, each in its own turn, right after this."""
    for other in others(turn):
        turn.signal(member_ref(other), FORGET)
    return None


def on_forget_signal(turn: Turn, event: TimerFired) -> None:
    forget_now(turn)


COMMANDS: tuple[Command, ...] = (
    Command("link", run_link, help=N_("command.link")),
    Command("unlink", run_unlink, private=True, help=N_("command.unlink")),
    Command("mycases", run_mycases, private=True, help=N_("command.mycases")),
)
