"""Commands members type (``/coc 3``): a table of names, who may run them, and what
they do. Dialog files add their own commands with ``command:``."""

from __future__ import annotations

from bot.core.events import Place
from bot.dialogs.model import Dialog
from bot.engine.flows import (
    bring_forward,
    drop_flows,
    reask,
    resume,
    start_dialog,
    stop_all,
    talk_to_person,
)
from bot.engine.help import HELP_AUDIENCES, say_help
from bot.engine.turn import Command, CommandFunction, Turn
from bot.i18n import N_
from bot.i18n.plain import is_plain, set_plain


def run_help(turn: Turn, args: tuple[str, ...], place: Place) -> None:
    say_help(turn, place)


def run_continue(turn: Turn, args: tuple[str, ...], place: Place) -> None:
    if not reask(turn):
        turn.say("common.nothing_to_continue", place=place)


def run_stop(turn: Turn, args: tuple[str, ...], place: Place) -> None:
    stop_all(turn)
    turn.record("stopped", turn.member.key)
    turn.say("common.stopped", place=place)


def run_plain(turn: Turn, args: tuple[str, ...], place: Place) -> None:
    on = not is_plain(turn.profile)
    set_plain(turn.profile, on)
    if on:
        turn.say("common.plain_on", place=place)
    else:
        turn.say("common.plain_off", place=place)
    reask(turn)


def run_person(turn: Turn, args: tuple[str, ...], place: Place) -> None:
    if not talk_to_person(turn):  # else it asked whether to name them
        reask(turn)


def dialog_command(dialog_id: str) -> CommandFunction:
    """A command that starts a dialog; its words reach the dialog as ``args``. Typed
    again while the dialog waits, it brings that dialog back rather than running it
    twice, unless the dialog begins anew each time (``restart: true``) or words came."""

    def run(turn: Turn, args: tuple[str, ...], place: Place) -> None:
        running = [f for f in turn.conversation.frames if f.dialog == dialog_id]
        restarts = turn.services.dialogs[dialog_id].restart
        if running and running[-1].waiting and not args and not restarts:
            bring_forward(turn, running[-1])
            return
        gone = drop_flows(turn, lambda f: f.dialog == dialog_id)
        start_dialog(turn, dialog_id, place, {"args": " ".join(args)}, asked_for=True)
        for left in gone:
            if left != place:
                resume(turn, left)

    return run


BUILTIN: tuple[Command, ...] = (
    Command("help", run_help, help=N_("common.help_help")),
    Command("continue", run_continue, help=N_("common.help_continue")),
    Command("stop", run_stop, help=N_("common.help_stop")),
    Command("human", run_person, help=N_("common.help_human")),
    Command("plain", run_plain, help=N_("common.help_plain")),
)


def command_table(dialogs: list[Dialog], extra: tuple[Command, ...] = ()) -> dict[str, Command]:
    table = {command.name: command for command in (*BUILTIN, *extra)}
    for dialog in dialogs:
        if dialog.command in table:
            raise ValueError(f"command /{dialog.command} is defined twice")
        if dialog.command:
            table[dialog.command] = Command(
                dialog.command, dialog_command(dialog.id), help=dialog.help
            )
    for command in table.values():
        for audience in (command.audience, *command.also_for):
            if audience not in HELP_AUDIENCES:
                raise ValueError(f"command /{command.name}: unknown audience {audience!r}")
    return table


def may_run(turn: Turn, command: Command) -> bool:
    """Who may run a command: a role the platform reports for the member, or the
    member's own platform identity listed in the config."""
    if command.requires is None:
        return True
    if command.requires in turn.event.roles:
        return True
    if command.requires == "moderator":
        return turn.member.key in turn.services.config.moderators.members
    return False
