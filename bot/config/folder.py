"""A deployment of many communities: the folder of community files its config names,
and what must differ between them (ids, spaces, moderators' rooms), each clash named
with the file, line and key to fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.core.yamlsource import YamlDocument

# Keys of a platform section that give people a role: per community in a deployment
# of many (a role in the deployment file would reach every community).
ROLE_KEY_PREFIXES = ("moderator", "mediator")
ROLE_KEYS = ("members_room",)  # Matrix's role_mode room: one room for every community


def community_files(doc: YamlDocument, folder: Path) -> list[Path]:
    """The folder's community files (``*.yaml``), in the order of their names."""
    files = sorted(p for p in folder.glob("*.yaml") if p.is_file())
    if not files:
        raise doc.error(("communities",), f"no community file (*.yaml) in {folder}")
    return files


def check_distinct(entries: list[tuple[YamlDocument, dict[str, Any]]]) -> None:
    """No two communities share an id, a platform space or a moderators' room (nor a
    welcome channel, where welcomes are public): the later file is named."""
    ids: dict[str, str] = {}
    places: dict[str, str] = {}  # a space's or a room's id -> the file of its community
    for doc, fields in entries:
        community = fields["community_id"]
        if community in ids:
            raise doc.error(
                ("community", "id"), f"the id '{community}' is taken by {ids[community]}"
            )
        ids[community] = doc.name
        named: list[tuple[tuple[str | int, ...], str]] = [
            (("spaces", platform, i), space)
            for platform, spaces in fields["spaces"].items()
            for i, space in enumerate(spaces)
        ]
        for path, place in [*named, *_rooms(fields)]:
            other = places.setdefault(place, doc.name)
            if other != doc.name:
                raise doc.error(
                    path,
                    f"'{place}' belongs to the community of {other}; every community of a"
                    " deployment has its own spaces and rooms",
                )


def _rooms(fields: dict[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
    """The places a community's notices about its members go to."""
    moderators = fields["moderators"]
    found: list[tuple[tuple[str | int, ...], str]] = [
        (("moderators", "rooms", platform), room) for platform, room in moderators.rooms
    ] or [(("moderators", "channel"), moderators.channel)]
    onboarding = fields["onboarding"]
    if onboarding.welcome != "direct":
        found.append((("onboarding", "welcome_channel"), onboarding.welcome_channel))
    return found


def check_platform_roles(doc: YamlDocument, platforms: dict[str, Any]) -> None:
    """A deployment's platform sections give nobody a role: each community names its
    moderators and mediators in its own file."""
    for name, section in platforms.items():
        for key in section.data:
            if str(key).startswith(ROLE_KEY_PREFIXES) or key in ROLE_KEYS:
                raise doc.error(
                    ("platforms", name, key),
                    "a deployment of many communities names moderators and mediators in"
                    " each community's file (moderators.members, mediation.mediators),"
                    " never for all of them",
                )
