"""Commands of moderation records and appeals: ``/sanction``, ``/appeal`` and
``/appeals``."""

from __future__ import annotations

from bot.conduct.document import localized, named_section
from bot.core.events import Place
from bot.engine.flows import start_dialog
from bot.engine.people import (
    display,
    is_moderator,
    resolve,
    shared_accounts,
    tell,
    translator_of,
)
from bot.engine.turn import MODERATORS_ROOM, Command, Turn
from bot.features.appeals.cases import (
    APPEAL,
    OUTCOMES,
    SANCTION,
    appealable,
    member_cases,
    new_case,
)
from bot.features.appeals.extend import run_extend
from bot.i18n import N_
from bot.i18n.locales import as_clause, clean_user_text
from bot.store.cases import Case, CaseMember, add_audit, save_case


def run_sanction(turn: Turn, args: tuple[str, ...], place: Place) -> None:
    """``/sanction NAME ACTION PART REASON``: a moderator records what they did, under
    which part of the code of conduct (its number or id) and why. Without a part the
    code of conduct has, nothing is recorded and the moderator is shown the parts."""
    if not is_moderator(turn):
        turn.say("common.not_allowed", command="sanction")
        return
    if args and args[0].lower() == "extend":
        run_extend(turn, args[1:])
        return
    target = resolve(turn, args[0]) if args else None
    rule = named_section(turn.services.coc, args[2]) if len(args) > 2 else None
    reason = clean_user_text(" ".join(args[3:]), 500)
    if target is None or rule is None or not reason:
        sanction_help(turn, part_problem(args, target is not None, rule is not None))
        return
    kind = clean_user_text(args[1], 40)
    # Records from before a part was required have no "rule": they read as before.
    data: dict[str, object] = {"type": kind, "reason": reason, "by": turn.member.key}
    data["rule"] = rule.id
    case = new_case(turn, SANCTION, CaseMember(target, "subject"), data)
    case.status = "recorded"
    turn.writes.append(save_case(case, turn.now))
    turn.count(f"sanctions:{rule.number}", always=True)
    # The part's number and its title in the member's language, as /coc shows it to them.
    title = localized(rule, "title", translator_of(turn.services, target.key).lookup)
    values = {"case": str(case.shown), "type": kind, "reason": as_clause(reason)}
    tell(turn, target, "appeal.sanction_notice_rule", part=f"{rule.number} ({title})", **values)
    turn.say("appeal.sanction_recorded", case=str(case.shown), name=display(target))


def part_problem(args: tuple[str, ...], named: bool, found: bool) -> str | None:
    """What to say about the part when the member and the action are there: none was
    given (a third word, if any, is all there is), or the word in its place names no
    part of the code of conduct."""
    if not named or len(args) < 2 or found:
        return None
    return N_("appeal.sanction_unknown_part") if len(args) > 3 else N_("appeal.sanction_no_part")


def sanction_help(turn: Turn, problem: str | None) -> None:
    """What was wrong (if it is the part), how to write the command, and every part
    of the code of conduct by number and id, with its title in the moderator's
    language."""
    lines = [turn.text(problem)] if problem else []
    lines.append(turn.text("appeal.sanction_usage"))
    for section in turn.services.coc.sections:
        lines.append(
            turn.text(
                "appeal.sanction_part_line",
                number=str(section.number),
                id=section.id,
                title=localized(section, "title", turn.translator.lookup),
            )
        )
    turn.say_text("\n".join(lines))


def run_appeal(turn: Turn, args: tuple[str, ...], place: Place) -> None:
    if any(c.status == "open" for c in member_cases(turn, APPEAL)):
        turn.say("appeal.one_at_a_time")
        return
    if not member_cases(turn, SANCTION):
        turn.say("appeal.nothing_to_appeal")
        return
    if not appealable(turn):
        days = str(turn.services.config.reports.appeal_window.days)
        turn.say("appeal.too_late", days=days)
        return
    start_dialog(turn, "appeal", Place.direct(turn.member), asked_for=True)


def run_appeals(turn: Turn, args: tuple[str, ...], place: Place) -> None:
    """``/appeals list``, ``show N``, ``decide N upheld|lifted REASON``."""
    if not is_moderator(turn):
        turn.say("common.not_allowed", command="appeals")
        return
    what = args[0].lower() if args else ""
    records = turn.services.store.cases
    community = turn.services.config.community_id
    if what == "list":
        open_ones = [c for c in records.listing(community, APPEAL) if c.status == "open"]
        lines = [turn.text("appeal.list_heading")]
        lines += [f"#{c.shown}: {display(c.members[0].member)}" for c in open_ones]
        # It names the appellants, whom the moderators room is never told: privately.
        turn.say_text(
            "\n".join(lines) if open_ones else turn.text("appeal.none_open"),
            place=Place.direct(turn.member),
        )
        return
    number = args[1].lstrip("#") if len(args) > 1 else ""
    case = records.find(community, APPEAL, int(number)) if number.isdigit() else None
    if case is None or what not in ("show", "decide"):
        turn.say("appeal.usage")
        return
    sanction = records.load(community, int(case.data["sanction"]))
    if what == "show":
        texts = [t.text for t in records.texts(case.id)]
        shown = turn.text(
            "appeal.show",
            case=str(case.shown),
            name=display(case.members[0].member),
            type=str(sanction.data.get("type") if sanction else "-"),
            reason=str(sanction.data.get("reason") if sanction else "-"),
            appeal=" ".join(texts) or "-",
        )
        lines = [shown, *shared_accounts(turn, case)]
        turn.say_text("\n".join(lines), place=Place.direct(turn.member))
        return
    decide(turn, case, args[2:])


def decide(turn: Turn, case: Case, words: tuple[str, ...]) -> None:
    outcome = words[0].lower() if words else ""
    reason = clean_user_text(" ".join(words[1:]), 500)
    if case.status != "open":
        turn.say("appeal.already_decided", case=str(case.shown))
    elif turn.member.key == case.data.get("acted_by"):
        turn.say("appeal.not_the_same_moderator", case=str(case.shown))
    elif outcome not in OUTCOMES or not reason:
        turn.say("appeal.decide_usage")
    else:
        case.status = "decided"
        turn.count("reversals" if outcome == "lifted" else "appeals_upheld", always=True)
        turn.count_wait("appeal_decided", case.created_at, always=True)
        case.data.update({"outcome": outcome, "reason": reason, "decided_by": turn.member.key})
        turn.writes.append(save_case(case, turn.now))
        turn.writes.append(add_audit(case.id, turn.member.key, "decided", outcome, turn.now))
        message = N_("appeal.upheld") if outcome == "upheld" else N_("appeal.lifted")
        tell(turn, case.members[0].member, message, case=str(case.shown), reason=reason)
        turn.say("appeal.decided", case=str(case.shown))


COMMANDS: tuple[Command, ...] = (
    Command(
        "sanction",
        run_sanction,
        private=True,
        also_in=MODERATORS_ROOM,
        audience="moderator",
        help=N_("command.sanction"),
    ),
    Command("appeal", run_appeal, private=True, help=N_("command.appeal")),
    Command(
        "appeals",
        run_appeals,
        private=True,
        also_in=MODERATORS_ROOM,
        audience="moderator",
        help=N_("command.appeals"),
    ),
)
