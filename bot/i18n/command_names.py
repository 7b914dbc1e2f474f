"""Command names in the member's language: ``/idioma`` is ``/language`` for a Spanish
reader. The canonical (English) names always work everywhere; a localized name is an
alias, shown where the platform can show it (Discord's ``name_localizations``) and
accepted wherever a member types a command.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.i18n import N_
from bot.i18n.catalogs import Catalogs

# Every command's name as a catalog text; the English catalog holds the canonical name.
NAME_IDS: dict[str, str] = {
    "appeal": N_("command_name.appeal"),
    "appeals": N_("command_name.appeals"),
    "case": N_("command_name.case"),
    "clear": N_("command_name.clear"),
    "coc": N_("command_name.coc"),
    "continue": N_("command_name.continue"),
    "floor": N_("command_name.floor"),
    "forget": N_("command_name.forget"),
    "help": N_("command_name.help"),
    "human": N_("command_name.human"),
    "language": N_("command_name.language"),
    "leave": N_("command_name.leave"),
    "mediate": N_("command_name.mediate"),
    "mediators": N_("command_name.mediators"),
    "mydata": N_("command_name.mydata"),
    "pause": N_("command_name.pause"),
    "plain": N_("command_name.plain"),
    "private": N_("command_name.private"),
    "propose": N_("command_name.propose"),
    "quiet": N_("command_name.quiet"),
    "report": N_("command_name.report"),
    "reports": N_("command_name.reports"),
    "resume": N_("command_name.resume"),
    "sanction": N_("command_name.sanction"),
    "share": N_("command_name.share"),
    "start": N_("command_name.start"),
    "stop": N_("command_name.stop"),
    "unshare": N_("command_name.unshare"),
}


def local_name(catalogs: Catalogs, command: str, language: str) -> str | None:
    """The command's name in ``language`` when its catalog has one of its own."""
    msgid = NAME_IDS.get(command)
    if msgid is None:
        return None
    found = catalogs.translator(language).lookup(msgid)
    name = found.strip().lower() if found else ""
    return name if name and name != command and not any(c.isspace() for c in name) else None


def aliases(
    catalogs: Catalogs, commands: Iterable[str], languages: Iterable[str]
) -> dict[str, str]:
    """Localized name -> canonical name over every language. A canonical name is never
    shadowed, and a name two commands share in different languages is dropped rather
    than guessed."""
    canonical = set(commands)
    found: dict[str, str] = {}
    clashes: set[str] = set()
    for language in languages:
        for command in canonical:
            name = local_name(catalogs, command, language)
            if name is None or name in canonical:
                continue
            if found.get(name, command) != command:
                clashes.add(name)
            found[name] = command
    return {name: command for name, command in found.items() if name not in clashes}
