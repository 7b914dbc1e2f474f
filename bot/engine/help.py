"""``/help``: what the member can do, built from the command table for who they are.

Every member sees the commands for members; a member in a mediation session also sees
the session's commands, a mediator (or mediation admin) the mediators', a moderator
the moderators', an emergency contact who is not a moderator the ones they may use for
emergencies. Each line is ``/name – description``, the description being the command's
own catalog text (``help``, also shown in platform menus).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from bot.core.events import Place
from bot.engine.turn import Turn
from bot.i18n import N_
from bot.i18n.locales import isolate
from bot.i18n.plain import wording

if TYPE_CHECKING:
    from bot.engine.turn import Command

HELP = N_("common.help")
# Who a command is for, in the order /help lists them, with each group's heading.
AUDIENCES: tuple[tuple[str, str | None], ...] = (
    ("member", None),
    ("session", N_("help.session_heading")),
    ("mediator", N_("help.mediators_heading")),
    ("moderator", N_("help.moderators_heading")),
    ("emergency", N_("help.emergency_heading")),
)
HELP_AUDIENCES = frozenset(audience for audience, _ in AUDIENCES)
# What members look for first (help and the safety exits early); other commands follow
# in the table's order.
FIRST = (
    *("coc", "report", "human", "stop", "clear", "language", "mediate", "mediators"),
    *("appeal", "mydata", "forget", "quiet"),
)


def audiences(turn: Turn) -> set[str]:
    """The groups of commands this member may use now."""
    config, key, roles = turn.services.config, turn.member.key, turn.event.roles
    found = {"member"}
    if "moderator" in roles or key in config.moderators.members:
        found.add("moderator")
    if key in config.reports.emergency_contacts:
        found.add("emergency")
    for more in turn.services.features.audiences:
        found |= more(turn)
    return found


def help_lines(turn: Turn, commands: Iterable[Command]) -> list[str]:
    """``/name – description`` for each command the member may use, grouped."""
    allowed = audiences(turn)
    listed = [c for c in commands if c.help and allowed & {c.audience, *c.also_for}]
    listed.sort(key=lambda c: FIRST.index(c.name) if c.name in FIRST else len(FIRST))
    lines: list[str] = []
    for audience, heading in AUDIENCES:
        # Each command once: in its own group, else in the first other group allowed.
        group = [c for c in listed if _group(c, allowed) == audience]
        if not group:
            continue
        if heading is not None:
            lines.append(turn.translator.gettext(heading))
        for command in group:
            own = command.audience == audience or command.also_help is None
            description = turn.translator.gettext(
                (command.help if own else command.also_help) or ""
            )
            lines.append(f"{isolate('/' + command.name, turn.locale)} – {description}")
    return lines


def _group(command: Command, allowed: set[str]) -> str:
    if command.audience in allowed:
        return command.audience
    return next(a for a in command.also_for if a in allowed)


def say_help(turn: Turn, place: Place | None = None) -> None:
    """The help message, in plain words when the member asked for them."""
    block = "\n".join(help_lines(turn, turn.services.commands.values()))
    text = turn.translator.format(wording(HELP, turn.profile), commands=block)
    turn.say_text(text, place=place)
