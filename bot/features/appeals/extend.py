"""``/sanction extend N REASON``: a sanction recorded on one account, recorded for the
linked person too, with a reason that is logged. Sanctions stay per account otherwise.

Only accounts the member showed the moderators (``/share`` for one of their cases) can
be covered: a link the member kept private is never used, and the answer when nothing
was shared is the same whether such a link exists or not. Each account covered gets a
sanction record of its own (appealable like any), and the member is told on each."""

from __future__ import annotations

from bot.core.events import Place
from bot.engine.people import account_shown, member_ref, profile_of, tell
from bot.engine.turn import Turn
from bot.features.appeals.cases import SANCTION, new_case
from bot.i18n.locales import as_clause, clean_user_text
from bot.store.cases import Case, CaseMember, add_audit, save_case


def shared_accounts_of(turn: Turn, key: str) -> list[str]:
    """The accounts the moderators were shown as ``key``'s own (by a disclosure for a
    case), and nothing they were not."""
    links, community = turn.services.store.links, turn.services.config.community_id
    keys = []
    for case_id, sharer in dict.fromkeys(
        (d.case_id, d.member) for d in links.disclosures_of(community, key)
    ):
        shown = [d.account for d in links.disclosures(community, case_id) if d.member == sharer]
        keys += [sharer, *shown]
    return [k for k in dict.fromkeys(keys) if k != key]


def _covered(turn: Turn, sanction: Case) -> set[str]:
    """Accounts this sanction (or the one it extends) already covers."""
    community = turn.services.config.community_id
    origin = int(sanction.data.get("extended_from") or sanction.id)
    covered = set()
    for case in turn.services.store.cases.listing(community, SANCTION):
        if case.id == origin or int(case.data.get("extended_from") or 0) == origin:
            covered.add(case.members[0].key)
    return covered


def run_extend(turn: Turn, args: tuple[str, ...]) -> None:
    number = args[0].lstrip("#") if args else ""
    reason = clean_user_text(" ".join(args[1:]), 500)
    if not number.isdigit() or not reason:
        turn.say("appeal.extend_usage")
        return
    community = turn.services.config.community_id
    sanction = turn.services.store.cases.find(community, SANCTION, int(number))
    if sanction is None:
        turn.say("appeal.no_such_sanction", case=number)
        return
    subject = sanction.members[0].member
    covered = _covered(turn, sanction)
    accounts = [k for k in shared_accounts_of(turn, subject.key) if k not in covered]
    if not accounts:
        turn.say("appeal.nothing_to_extend", case=str(sanction.shown))
        return
    records = [_extend_to(turn, sanction, key, reason) for key in accounts]
    turn.writes.append(
        add_audit(
            sanction.id, turn.member.key, "extended", f"{', '.join(accounts)}: {reason}", turn.now
        )
    )
    turn.record("sanction_extended", subject.key, f"{sanction.shown}: {reason}")
    shown = [account_shown(turn.services, key) for key in accounts]
    tell(
        turn,
        subject,
        "appeal.sanction_extended_here",
        case=str(sanction.shown),
        accounts="; ".join(shown),
        why=reason,
    )
    listed = "; ".join(f"{n} ({s})" for n, s in zip(records, shown, strict=True))
    # It names the accounts the member shared: privately, like the appellants' list.
    turn.say(
        "appeal.sanction_extended",
        place=Place.direct(turn.member),
        case=str(sanction.shown),
        records=listed,
    )


def _extend_to(turn: Turn, sanction: Case, key: str, reason: str) -> str:
    """A sanction record on ``key`` like ``sanction``'s, by this moderator, saying
    why; the member is told there, in that account's language."""
    profile = profile_of(turn.services, key)
    target = member_ref(key, profile.name if profile else "")
    data: dict[str, object] = {
        **{k: v for k, v in sanction.data.items() if k in ("type", "reason", "rule")},
        "by": turn.member.key,
        "extended_from": int(sanction.data.get("extended_from") or sanction.id),
        "extend_reason": reason,
    }
    case = new_case(turn, SANCTION, CaseMember(target, "subject"), data)
    case.status = "recorded"
    turn.writes.append(save_case(case, turn.now))
    turn.writes.append(
        add_audit(
            case.id, turn.member.key, "extended_from", f"{sanction.shown}: {reason}", turn.now
        )
    )
    tell(
        turn,
        target,
        "appeal.sanction_extended_notice",
        case=str(case.shown),
        type=str(data.get("type", "")),
        reason=as_clause(str(data.get("reason", ""))),
        why=as_clause(reason),
    )
    return str(case.shown)
