"""Concord's commands as Discord slash commands, localized from the catalogs.

Every command the core offers (``host.commands()``) becomes a global slash command
(global, so it also works in the member's direct messages with the bot) with one
optional free-text argument for the command's words (``/coc 3``). Descriptions come
in every enabled language Discord has a locale for, through discord.py's pluggable
translator; languages Discord lacks (Arabic, Swahili, ...) keep the community's
default text, and such members choose their language in the conversation.
Names are localized the same way (``/idioma`` for a Spanish client) where the
catalog's name is one Discord accepts; the canonical name is always the fallback.

In a deployment of many communities each server gets its own commands, described in
its community's languages (its default first), and the global ones are offered in
direct messages only (in every community's languages), so a server never lists a
command twice.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any

import discord
from discord import app_commands

from bot.engine.host import AdapterHost, CommandInfo
from bot.i18n.locales import negotiate

ARGUMENT = "words"
# The argument's description: the catalogs' hint for answering in one's own words.
ARGUMENT_HINT = "common.choice_hint"
_NAME = re.compile(r"^[a-z0-9_-]{1,32}$")
_MAX_DESCRIPTION = 100
_MAX_NAME = 32

Handler = Callable[[discord.Interaction, str | None], Awaitable[None]]
Slash = Callable[[discord.Interaction, str | None], Coroutine[Any, Any, None]]
SlashCommand = app_commands.Command[Any, ..., None]


def discord_languages(languages: Sequence[str]) -> dict[str, str]:
    """Discord locale -> Concord language, for every Discord locale some enabled
    catalog serves (es-ES and es-419 -> es, pt-BR -> pt-BR, no -> nb ...)."""
    found = {}
    for locale in discord.Locale:
        language = negotiate([locale.value], languages, "")
        if language:
            found[locale.value] = language
    return found


def valid_name(name: str) -> bool:
    """Discord's rule for a localized command name: at most 32 lowercase letters,
    digits, ``-`` or ``_``; Devanagari and Thai may use their vowel signs."""
    if not 0 < len(name) <= _MAX_NAME or name != name.lower():
        return False
    return all(c.isalnum() or c in "-_" or _sign_allowed(c) for c in name)


def _sign_allowed(char: str) -> bool:
    in_script = "\u0900" <= char <= "\u097f" or "\u0e00" <= char <= "\u0e7f"
    return in_script and unicodedata.category(char).startswith("M")


def fit(text: str) -> str:
    """Discord refuses descriptions over 100 characters."""
    text = " ".join(text.split())
    return text if len(text) <= _MAX_DESCRIPTION else text[: _MAX_DESCRIPTION - 1] + "…"


class CatalogTranslator(app_commands.Translator):
    """Looks a ``locale_str`` up by its ``concord`` key in texts per language."""

    def __init__(self, texts: dict[str, dict[str, str]], languages: Sequence[str]) -> None:
        self.texts = texts
        self.locales = discord_languages(languages)

    async def translate(
        self,
        string: app_commands.locale_str,
        locale: discord.Locale,
        context: app_commands.TranslationContextTypes,
    ) -> str | None:
        key = string.extras.get("concord")
        language = self.locales.get(locale.value)
        if not key or not language:
            return None
        text = self.texts.get(key, {}).get(language)
        if not text:
            return None
        if context.location is app_commands.TranslationContextLocation.command_name:
            return text if valid_name(text) else None
        return fit(text)


def slash_callback(handler: Handler, hint: app_commands.locale_str) -> Slash:
    """One callback for every command; the command's name is on the interaction."""

    @app_commands.describe(words=hint)
    async def slash(interaction: discord.Interaction, words: str | None = None) -> None:
        await handler(interaction, words)

    return slash


def build(
    host: AdapterHost,
    handler: Handler,
    languages: tuple[str, ...] = (),
    dms_only: bool = False,
) -> tuple[list[SlashCommand], CatalogTranslator]:
    """The slash commands and their translator (names and descriptions per locale), in
    ``languages`` (the first the default; by default every enabled one)."""
    default = languages[0] if languages else host.default_language
    languages = languages or host.languages
    contexts = app_commands.AppCommandContext(dm_channel=True) if dms_only else None
    hint_texts = {code: host.text(code, ARGUMENT_HINT) for code in languages}
    hint = app_commands.locale_str(
        fit(hint_texts.get(default) or host.text(default, ARGUMENT_HINT)), concord=ARGUMENT_HINT
    )
    callback = slash_callback(handler, hint)
    texts: dict[str, dict[str, str]] = {ARGUMENT_HINT: hint_texts}
    commands: list[SlashCommand] = []
    for info in host.commands(languages):
        if not _NAME.fullmatch(info.name):
            continue
        key = f"command:{info.name}"
        texts[key] = dict(info.descriptions)
        name_key = f"command_name:{info.name}"
        texts[name_key] = dict(info.names)
        commands.append(
            app_commands.Command(
                name=app_commands.locale_str(info.name, concord=name_key),
                description=app_commands.locale_str(description(info, default), concord=key),
                callback=callback,
                allowed_contexts=contexts,
            )
        )
    return commands, CatalogTranslator(texts, languages)


async def publish(
    tree: app_commands.CommandTree[Any], host: AdapterHost, handler: Handler, guilds: Sequence[int]
) -> None:
    """Register the commands: global ones; with ``guilds`` (a deployment), the global
    ones for direct messages only and each server's own in its community's languages.
    Raises discord.HTTPException when Discord refuses (published again next time)."""
    commands, translator = build(host, handler, dms_only=bool(guilds))
    tree.clear_commands(guild=None)
    for command in commands:
        tree.add_command(command)
    await tree.set_translator(translator)
    await tree.sync()
    for guild_id in guilds:
        guild = discord.Object(guild_id)
        languages = host.space_languages("discord", str(guild_id))
        commands, translator = build(host, handler, languages)
        tree.clear_commands(guild=guild)
        for command in commands:
            tree.add_command(command, guild=guild)
        await tree.set_translator(translator)  # the sync below translates with it
        await tree.sync(guild=guild)


def description(info: CommandInfo, default: str) -> str:
    text = info.descriptions.get(default) or next(iter(info.descriptions.values()), "")
    return fit(text or info.name)
