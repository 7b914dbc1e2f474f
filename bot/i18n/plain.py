"""Plain-language mode (``/plain``): the shortest wording of every message that has one.

A message ``x`` with a plain wording has a sibling ``x.plain`` in the catalogs; the
list below is the one place that says which do, so the extractor finds the ids and a
member in plain mode never meets a missing text.
"""

from __future__ import annotations

from bot.core.state import Profile
from bot.i18n import N_

PLAIN_WORDINGS = frozenset(
    {
        N_("common.help.plain"),
        N_("common.person_notified.plain"),
        N_("common.offer_person.plain"),
        N_("common.invalid_choice.plain"),
        N_("common.stopped.plain"),
        N_("common.error.plain"),
        N_("common.draft_notice.plain"),
        N_("onboarding.welcome.plain"),
        N_("onboarding.choose_language.plain"),
        N_("onboarding.intro.plain"),
        N_("onboarding.check_question.plain"),
        N_("onboarding.check_wrong.plain"),
        N_("onboarding.interests_question.plain"),
        N_("onboarding.mentor_question.plain"),
        N_("onboarding.mentor_none.plain"),
        N_("onboarding.done.plain"),
        N_("onboarding.reminder.plain"),
        N_("checkin.help.plain"),
    }
)

_PLAIN = "plain"


def is_plain(profile: Profile) -> bool:
    return bool(profile.extra.get(_PLAIN))


def set_plain(profile: Profile, on: bool) -> None:
    if on:
        profile.extra[_PLAIN] = True
    else:
        profile.extra.pop(_PLAIN, None)


def wording(message: str, profile: Profile) -> str:
    """``message``'s plain sibling when the member asked for plain words and one exists."""
    if not is_plain(profile):  # asked for every text: the common case first
        return message
    plain = f"{message}.plain"
    return plain if plain in PLAIN_WORDINGS else message
