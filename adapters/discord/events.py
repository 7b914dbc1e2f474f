"""Discord events as Concord's neutral events: translation only, no decisions.

A member joining the served server becomes ``MemberJoined`` (its place is the
welcome or system channel), leaving becomes ``MemberLeft``; a message in a direct
message, a private space or a channel of the served server becomes ``TextSaid``
(or ``CommandRun`` for ``/word ...`` typed in a direct message or private space,
which Discord sends as text when no slash command matches, and in a channel where
the word is one of Concord's commands: the core then answers a private one in direct
messages and removes the line, as on the other platforms); a slash command
becomes ``CommandRun`` with the interaction's locale; a pressed button becomes
``ChoiceMade``. Everything else (bots, other servers, system messages) is ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import discord

from adapters.discord.guilds import PLATFORM, Guilds, space_key, thread_key
from adapters.discord.settings import DiscordSettings
from bot.core.events import (
    ChoiceMade,
    CommandRun,
    Event,
    MemberJoined,
    MemberLeft,
    MemberRef,
    Place,
    PlaceKind,
    TextSaid,
)
from bot.engine.host import AdapterHost

__all__ = ["PLATFORM", "Context", "space_key", "thread_key"]
# Buttons Concord sends carry the choice key after this prefix; others are not ours.
CHOICE_PREFIX = "concord:"
_COMMAND = re.compile(r"^/([^\s/]{1,32})(?:\s+(.*))?$", re.DOTALL)  # names in any script
_SPOKEN = (discord.MessageType.default, discord.MessageType.reply)


def member_ref(user: discord.User | discord.Member) -> MemberRef:
    return MemberRef(PLATFORM, str(user.id), user.display_name)


@dataclass
class Context:
    """What translation needs: the settings, the client's caches, the host's store of
    private spaces, and the neutral names of the welcome and moderators' channels in
    the config (``moderators_channel`` is the moderators' place, as ``#moderators``
    is on the console: the core decides what is answered there)."""

    settings: DiscordSettings
    client: discord.Client
    host: AdapterHost
    welcome_name: str
    moderators_name: str = "moderators"

    # Places -----------------------------------------------------------------------

    @property
    def guilds(self) -> Guilds:
        return Guilds(self.settings, self.client, self.host)

    @property
    def guild(self) -> discord.Guild | None:
        """The one server of a config of one community."""
        return self.client.get_guild(self.settings.guild)

    def welcome_channel_id(self) -> int | None:
        return self.guilds.welcome_channel_id(self.settings.guild)

    def place_of(self, guild_id: int | None, channel_id: int | None, user_id: int) -> Place | None:
        """The neutral place of a Discord channel, or None for one Concord does not serve."""
        if guild_id is None:
            return Place(PLATFORM, PlaceKind.DIRECT, str(user_id))
        if not self.guilds.serves(guild_id) or channel_id is None:
            return None
        space = self.host.platform_record(thread_key(channel_id))
        if space:
            return Place(PLATFORM, PlaceKind.PRIVATE, space)
        if self.settings.many:  # channel ids: unique across servers (see guilds.py)
            return Place(PLATFORM, PlaceKind.CHANNEL, str(channel_id))
        if channel_id == self.welcome_channel_id():
            return Place(PLATFORM, PlaceKind.CHANNEL, self.welcome_name)
        if channel_id == self.settings.moderators_channel:
            return Place(PLATFORM, PlaceKind.CHANNEL, self.moderators_name)
        for name, known in self.settings.channels:
            if known == channel_id:
                return Place(PLATFORM, PlaceKind.CHANNEL, name)
        return Place(PLATFORM, PlaceKind.CHANNEL, str(channel_id))

    def is_public(self, place: Place | None) -> bool:
        """A channel of the server other than the moderators' channel."""
        if place is None or place.kind is not PlaceKind.CHANNEL:
            return False
        if self.settings.many:
            return place.id not in self.host.moderators_rooms()
        return not (
            place.id == self.moderators_name and self.settings.moderators_channel is not None
        )

    def channel_id_of(self, name: str) -> int | None:
        """The Discord channel of a neutral channel name (the reverse of ``place_of``)."""
        if self.settings.many and name.isdigit():
            return int(name)
        if name == self.welcome_name:
            return self.welcome_channel_id()
        if name == self.moderators_name and self.settings.moderators_channel is not None:
            return self.settings.moderators_channel
        for known, channel_id in self.settings.channels:
            if known == name:
                return channel_id
        if name.isdigit():
            return int(name)
        guild = self.guild
        found = guild and discord.utils.get(guild.text_channels, name=name.lstrip("#"))
        return found.id if found else None

    # Members ----------------------------------------------------------------------

    def roles_of(self, user: discord.User | discord.Member) -> tuple[str, ...]:
        """Neutral roles from the member's Discord roles in the served server (a
        direct message carries no roles, so the cached member is looked up)."""
        member: discord.Member | None = None
        if isinstance(user, discord.Member) and self.guilds.serves(user.guild.id):
            member = user  # in a deployment, the roles of the server it came from only
        elif self.guild is not None:
            member = self.guild.get_member(user.id)
        if member is None:
            return ()
        return self.settings.neutral_roles({role.id for role in member.roles})

    # Events -----------------------------------------------------------------------

    def joined(self, member: discord.Member) -> MemberJoined | None:
        if member.bot or not self.guilds.serves(member.guild.id):
            return None
        since = int(member.joined_at.timestamp()) if member.joined_at else 0
        welcome = self.guilds.welcome_channel_id(member.guild.id)
        name = str(welcome) if self.settings.many else self.welcome_name
        return MemberJoined(
            f"join:{member.guild.id}:{member.id}:{since}",
            self.host.community,
            member_ref(member),
            roles=self.roles_of(member),
            place=Place(PLATFORM, PlaceKind.CHANNEL, name) if welcome else None,
            space=self.guilds.space(member.guild.id),
        )

    def left(self, member: discord.Member) -> MemberLeft | None:
        if member.bot or not self.guilds.serves(member.guild.id):
            return None
        since = int(member.joined_at.timestamp()) if member.joined_at else 0
        return MemberLeft(
            f"leave:{member.guild.id}:{member.id}:{since}",
            self.host.community,
            member_ref(member),
            space=self.guilds.space(member.guild.id),
        )

    def said(self, message: discord.Message) -> Event | None:
        author = message.author
        if author.bot or message.type not in _SPOKEN:
            return None
        guild_id = message.guild.id if message.guild else None
        place = self.place_of(guild_id, message.channel.id, author.id)
        if place is None:
            return None
        text = message.content
        if place.kind is not PlaceKind.DIRECT and not text.strip():
            # A picture in a channel or thread is between people (and without the
            # Message Content intent every server message arrives empty).
            return None
        member = member_ref(author)
        roles = self.roles_of(author)
        event_id = str(message.id)
        space = self.guilds.space(guild_id)
        match = _COMMAND.match(text.strip())
        name = match.group(1).lower() if match else ""
        if match and (place.kind is not PlaceKind.CHANNEL or self.host.is_command(name)):
            return CommandRun(
                event_id,
                self.host.community,
                member,
                roles=roles,
                place=place,
                name=name,
                args=tuple((match.group(2) or "").split()),
                space=space,
            )
        return TextSaid(
            event_id, self.host.community, member, roles=roles, place=place, text=text, space=space
        )

    def interaction_place(self, interaction: discord.Interaction) -> Place | None:
        return self.place_of(interaction.guild_id, interaction.channel_id, interaction.user.id)

    def command(
        self, interaction: discord.Interaction, name: str, words: str | None
    ) -> CommandRun | None:
        place = self.interaction_place(interaction)
        if place is None:
            return None
        return CommandRun(
            str(interaction.id),
            self.host.community,
            member_ref(interaction.user),
            locale=interaction.locale.value,
            roles=self.roles_of(interaction.user),
            place=place,
            name=name,
            args=tuple((words or "").split()),
            unseen=True,  # a slash command is shown to nobody but its sender
            space=self.guilds.space(interaction.guild_id),
        )

    def pressed(self, interaction: discord.Interaction) -> ChoiceMade | None:
        data: dict[str, Any] = dict(interaction.data or {})
        custom_id = data.get("custom_id")
        if not isinstance(custom_id, str) or not custom_id.startswith(CHOICE_PREFIX):
            return None
        place = self.interaction_place(interaction)
        if place is None or interaction.user.bot:
            return None
        return ChoiceMade(
            str(interaction.id),
            self.host.community,
            member_ref(interaction.user),
            locale=interaction.locale.value,
            roles=self.roles_of(interaction.user),
            place=place,
            choice=custom_id[len(CHOICE_PREFIX) :],
            space=self.guilds.space(interaction.guild_id),
        )
