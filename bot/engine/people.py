"""Other members, as one member's turn sees them: their language, their identity, and
whether they moderate."""

from __future__ import annotations

from bot.core.actions import NotifyModerators, Say
from bot.core.events import MemberRef, Place
from bot.core.state import Profile, profile_from_dict
from bot.engine.turn import Services, Turn
from bot.i18n.catalogs import Translator
from bot.i18n.locales import clean_user_text, isolate, negotiate
from bot.store.cases import Case

BOT_NAMES = ("bot", "concord")


def profile_of(services: Services, member_key: str) -> Profile | None:
    stored = services.store.load_profile(services.config.community_id, member_key)
    return profile_from_dict(stored) if stored is not None else None


def locale_of(services: Services, member_key: str) -> str:
    profile = profile_of(services, member_key)
    candidates = [profile.chosen_locale, profile.platform_locale] if profile else []
    return negotiate(candidates, services.languages, services.config.default_language)


def translator_of(services: Services, member_key: str) -> Translator:
    return services.catalogs.translator(locale_of(services, member_key))


def tell(turn: Turn, to: MemberRef, message: str, **values: str) -> None:
    """A direct message to another member, in that member's language. Member-supplied
    values are cleaned and, in a right-to-left language, isolated."""
    if to.key == turn.member.key:
        turn.say_text(turn.text(message, **values), place=Place.direct(to))
        return
    locale = locale_of(turn.services, to.key)
    translator = turn.services.catalogs.translator(locale)
    base = {"community": turn.services.config.community_name}
    shown = {k: isolate(v, locale) for k, v in {**base, **values}.items()}
    turn.outbox.append(Say(Place.direct(to), translator.format(message, **shown)))


def member_ref(key: str, name: str = "") -> MemberRef:
    """A member from the ``platform:id`` key used in the config and the records."""
    platform, _, member_id = key.partition(":")
    return MemberRef(platform, member_id, name)


def display(member: MemberRef) -> str:
    return clean_user_text(member.name or member.id, 80)


def resolve(turn: Turn, word: str) -> MemberRef | None:
    """A member named in a command: ``bob``, ``@bob``, ``<@123>`` or ``platform:id``.
    None when Concord has never seen them."""
    raw = word.strip().removeprefix("<").removesuffix(">")
    platforms = {*turn.services.capabilities, turn.member.platform}
    candidates: list[tuple[str, str]] = []
    for text in dict.fromkeys((raw, raw.lstrip("@!"))):
        platform, sep, member_id = text.partition(":")
        if sep and platform in platforms:
            candidates.append((platform, member_id))
        candidates.append((turn.member.platform, text))
    for platform, member_id in candidates:
        profile = profile_of(turn.services, f"{platform}:{member_id}") if member_id else None
        if profile is not None:
            return MemberRef(platform, member_id, profile.name)
    return None


def is_bot(member_id: str) -> bool:
    return member_id.casefold() in BOT_NAMES


def is_moderator(turn: Turn) -> bool:
    return is_moderator_member(turn.services, turn.member, turn.event.roles)


def is_moderator_member(services: Services, member: MemberRef, roles: tuple[str, ...]) -> bool:
    """A moderator by a platform role or by the config's ``moderators.members``."""
    return "moderator" in roles or member.key in services.config.moderators.members


def notify_moderators(turn: Turn, message: str, **values: str) -> None:
    services = turn.services
    text = services.catalogs.translator(services.config.default_language).format(message, **values)
    turn.outbox.append(NotifyModerators(turn.member.platform, text))


def forget_now(turn: Turn) -> None:
    """Erase the member with this turn's commit; first, nothing that waits on them is
    left waiting. They are told in their direct messages."""
    for release in turn.services.features.on_forget:
        release(turn)
    turn.conversation.frames.clear()
    turn.forget = True
    turn.say_text(turn.text("privacy.forgotten"), place=Place.direct(turn.member))


def account_shown(services: Services, key: str) -> str:
    """Another account of a member as moderators read it: ``Telegram: Ana (telegram:12)``,
    its name cleaned like any member text."""
    profile = profile_of(services, key)
    ref = member_ref(key, profile.name if profile else "")
    return f"{ref.platform.capitalize()}: {display(ref)} ({clean_user_text(key, 120)})"


def shared_accounts(turn: Turn, case: Case) -> list[str]:
    """The lines a case's view shows of linked accounts its parties shared for this one
    case (and for no other): one per party who shared, naming their other accounts."""
    services = turn.services
    found = services.store.links.disclosures(services.config.community_id, case.id)
    lines = []
    for member in dict.fromkeys(d.member for d in found):
        party = case.member(member)
        if party is None:
            continue
        accounts = [account_shown(services, d.account) for d in found if d.member == member]
        lines.append(
            turn.text(
                "identity.shared_line",
                member=f"{display(party.member)} ({party.key})",
                accounts=", ".join(accounts),
            )
        )
    return lines
