"""Named actions of the onboarding dialog: small functions, each doing one thing."""

from __future__ import annotations

from datetime import datetime

from bot.config.onboarding import Mentor
from bot.core.actions import Choice, GrantRole, Say
from bot.core.events import MemberRef, Place
from bot.dialogs.model import ActionCall
from bot.engine.turn import Action, ChoiceSource, Turn
from bot.i18n.locales import language_name, negotiate


def interest_choices(turn: Turn) -> list[Choice]:
    return [
        Choice(i.id, turn.translator.lookup(f"interest.{i.id}") or i.label)
        for i in turn.services.config.onboarding.interests
    ] + [Choice("none", turn.text("onboarding.interest_none"))]


def record_acknowledgement(turn: Turn, call: ActionCall) -> str | None:
    version = turn.services.coc.version
    turn.profile.acknowledged_version = version
    turn.acknowledgements.append(version)
    turn.cancel("reminder")
    turn.record("acknowledged", turn.member.key, version)
    return None


def grant_role(turn: Turn, call: ActionCall) -> str | None:
    """``when: joined`` grants only if agreeing is not required; ``when: acknowledged``
    only if it is, so one dialog serves both kinds of community."""
    onboarding = turn.services.config.onboarding
    role = call.args.get("role") or onboarding.role
    when = call.args.get("when", "acknowledged")
    if (when == "acknowledged") != onboarding.acknowledgement_required:
        return None
    if role:
        turn.outbox.append(GrantRole(turn.member, role))
        turn.record("role_granted", turn.member.key, role)
    return None


def schedule_reminder(turn: Turn, call: ActionCall) -> str | None:
    onboarding = turn.services.config.onboarding
    if onboarding.acknowledgement_required and onboarding.reminder_after:
        turn.schedule("reminder", turn.now + onboarding.reminder_after)
    return None


def schedule_checkin(turn: Turn, call: ActionCall) -> str | None:
    delay = turn.services.config.onboarding.checkin_after
    if delay:
        turn.schedule("checkin", turn.now + delay)
    return None


def mark_onboarded(turn: Turn, call: ActionCall) -> str | None:
    turn.profile.onboarded = True
    turn.record("onboarded", turn.member.key)
    turn.count("onboarding_completed")
    return None


def suggest_for_interests(turn: Turn, call: ActionCall) -> str | None:
    """Turn the chosen interests into a list of channels and resources to start with."""
    chosen = set((turn.frame.values.get("choice", "") if turn.frame else "").split(","))
    interests = [i for i in turn.services.config.onboarding.interests if i.id in chosen]
    turn.profile.interests = [i.id for i in interests]
    lines = []
    for interest in interests:
        label = turn.translator.lookup(f"interest.{interest.id}") or interest.label
        places = ", ".join((*interest.channels, *interest.resources))
        lines.append(f"- {label}: {places}" if places else f"- {label}")
    if not lines:
        return "none"
    assert turn.frame is not None
    turn.frame.values["suggestions"] = "\n".join(lines)
    return "some"


def membership_age(turn: Turn, call: ActionCall) -> str | None:
    """``{when}``: how long ago the member first came, in their language ("7 days ago")."""
    first = turn.profile.first_seen
    if first and turn.frame is not None:
        since = datetime.fromisoformat(first) - turn.now
        turn.frame.values["when"] = turn.translator.format_timedelta(since)
    return None


def has_interests(turn: Turn, call: ActionCall) -> str | None:
    return "ask" if turn.services.config.onboarding.interests else "skip"


def offer_mentor_check(turn: Turn, call: ActionCall) -> str | None:
    onboarding = turn.services.config.onboarding
    return "offer" if onboarding.offer_mentor and onboarding.mentors else "skip"


def match_mentor(turn: Turn, call: ActionCall) -> str | None:
    """A mentor who is not away, has room, speaks the member's language where possible
    and shares the most interests; the mentor is told in their own language."""
    services = turn.services
    mentor = best_mentor(turn, services.config.onboarding.mentors)
    turn.count("mentor_requests")
    if mentor is None:
        turn.record("mentor_none", turn.member.key)
        return "none"
    assert turn.frame is not None
    turn.frame.values["mentor"] = mentor.name
    turn.profile.mentor = mentor.member
    turn.mentorships.append((turn.member.key, mentor.member))
    platform, _, mentor_id = mentor.member.partition(":")
    mentor_ref = MemberRef(platform, mentor_id, mentor.name)
    mentor_locale = negotiate(
        list(mentor.languages), services.languages, services.config.default_language
    )
    mentor_text = services.catalogs.translator(mentor_locale)
    interests = [
        mentor_text.lookup(f"interest.{i.id}") or i.label
        for i in services.config.onboarding.interests
        if i.id in turn.profile.interests
    ]
    text = mentor_text.format(
        "onboarding.mentor_notice",
        mentor=mentor.name,
        name=turn.values()["name"],
        member=turn.member.key,
        language=language_name(turn.locale, mentor_locale),
        interests=", ".join(interests) or "-",
    )
    turn.outbox.append(Say(Place.direct(mentor_ref), text))
    turn.record("mentor_matched", turn.member.key, mentor.member)
    turn.count("mentor_matches")
    return "found"


def best_mentor(turn: Turn, mentors: tuple[Mentor, ...]) -> Mentor | None:
    store = turn.services.store
    community = turn.services.config.community_id
    language = turn.locale.split("-")[0]
    scored = []
    for order, mentor in enumerate(mentors):
        if mentor.away or mentor.member == turn.member.key:
            continue
        load = store.count_mentees(community, mentor.member)
        load += sum(1 for _, m in turn.mentorships if m == mentor.member)
        if load >= mentor.capacity:
            continue
        speaks = any(code.split("-")[0] == language for code in mentor.languages)
        shared = len(set(mentor.interests) & set(turn.profile.interests))
        scored.append(((not speaks, -shared, load, order), mentor))
    return min(scored, key=lambda pair: pair[0])[1] if scored else None


ACTIONS: dict[str, Action] = {
    "record_acknowledgement": Action(record_acknowledgement),
    "grant_role": Action(grant_role),
    "schedule_reminder": Action(schedule_reminder),
    "schedule_checkin": Action(schedule_checkin),
    "mark_onboarded": Action(mark_onboarded),
    "suggest_for_interests": Action(suggest_for_interests, results=("none", "some")),
    "has_interests": Action(has_interests, results=("ask", "skip")),
    "membership_age": Action(membership_age),
    "offer_mentor_check": Action(offer_mentor_check, results=("offer", "skip")),
    "match_mentor": Action(match_mentor, results=("found", "none")),
}

CHOICE_SOURCES: dict[str, ChoiceSource] = {
    "interests": interest_choices,
}
