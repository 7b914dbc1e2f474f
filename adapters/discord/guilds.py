"""The servers (guilds) one Discord bot serves: one, or in a deployment of many
communities every server the communities' files name (``spaces: discord:``), each
one community's.

Translation only. Each event names its server (``Event.space``) and the core routes
it to that server's community (bot/engine/routing.py), so the adapter never decides
whose an event is. An action that acts inside a server (a role granted or revoked, a
private thread opened or written to) acts in the servers of the community whose
action it is (``host.spaces_of``, read while the outbox delivers it), never in
another community's, even for a member of both.

Places: with one community a server's channels carry the config's neutral names
(``welcome``, ``moderators``, ``platforms.discord.channels``) as before. In a
deployment a channel is its id (ids are unique across servers, so a community's
``moderators.channel`` and ``onboarding.welcome_channel`` are channel ids in its
file), a newcomer's welcome channel is their server's system channel (or
``welcome_channel`` where it is that server's), and a private thread's record is
kept under its server, since each community numbers its cases from 1.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import discord

from adapters.discord.settings import DiscordSettings
from bot.engine.host import AdapterHost

PLATFORM = "discord"
log = logging.getLogger("adapters.discord.adapter")


def space_key(space: str, guild: int | None = None) -> str:
    """Where the thread id of a private space is kept (``host.platform_record``); in
    a deployment, under the server of the space's community."""
    return f"{PLATFORM}:space:{space}" if not guild else f"{PLATFORM}:space:{guild}:{space}"


def thread_key(thread_id: int) -> str:
    """Where the neutral space id of a private thread is kept."""
    return f"{PLATFORM}:thread:{thread_id}"


def delivers_for(settings: DiscordSettings, host: AdapterHost) -> frozenset[str] | None:
    """In a deployment whose Discord shards several processes run: the communities
    whose actions this process delivers, those whose servers its shards carry (a role
    or a private thread needs its server's cache), and those that name no server
    (direct messages only: any Discord process, as before). ``concord run``
    refuses a process that carries some of one community's servers but not all
    (``settings.refuse_split``). None: every community's (one community, or every
    shard in this process)."""
    if not settings.many or not settings.shard_ids:
        return None
    here = set()
    for community in host.communities:
        guilds = [int(g) for g in host.spaces_of(PLATFORM, community) if g.isdigit()]
        if not guilds or any(map(settings.runs, guilds)):
            here.add(community)
    return frozenset(here)


@dataclass
class Guilds:
    settings: DiscordSettings
    client: discord.Client
    host: AdapterHost

    @property
    def many(self) -> bool:
        return self.settings.many

    def serves(self, guild_id: int | None) -> bool:
        return guild_id is not None and guild_id in self.settings.served_guilds()

    def get(self, guild_id: int) -> discord.Guild | None:
        return self.client.get_guild(guild_id)

    def space(self, guild_id: int | None) -> str:
        """What an event from this server carries for routing (nothing with one
        community: every event is its own)."""
        return str(guild_id) if self.many and guild_id else ""

    def of_channel(self, channel_id: int) -> int | None:
        """The server of a channel the bot knows (its cache), if any."""
        channel = self.client.get_channel(channel_id)
        guild = getattr(channel, "guild", None)
        return guild.id if guild is not None else None

    def welcome_channel_id(self, guild_id: int) -> int | None:
        """Where a server's newcomers are welcomed: ``welcome_channel`` (in a
        deployment, where it is this server's), else the server's system channel."""
        configured = self.settings.welcome_channel
        if configured is not None and (not self.many or self.of_channel(configured) == guild_id):
            return configured
        guild = self.get(guild_id)
        return guild.system_channel.id if guild and guild.system_channel else None

    def thread_parent(self, guild_id: int) -> int | None:
        """The channel a server's private threads are made in."""
        configured = self.settings.spaces_channel
        if configured is not None and (not self.many or self.of_channel(configured) == guild_id):
            return configured
        return self.welcome_channel_id(guild_id)

    def delivering(self) -> tuple[int, ...]:
        """The servers of the community whose action is being delivered."""
        if not self.many:
            return (self.settings.guild,)
        return tuple(int(g) for g in self.host.spaces_of(PLATFORM) if g.isdigit())

    def role_in(self, guild_id: int, name: str) -> int | None:
        """The Discord role of a neutral role name in one server: with one server the
        one mapped; in a deployment, the mapped role that is that server's."""
        if not self.many:
            return self.settings.role_id(name)
        guild = self.get(guild_id)
        for role in self.settings.role_ids(name):
            if guild is not None and guild.get_role(role) is not None:
                return role
        return None

    def private_space_key(self, space: str) -> str | None:
        """The record of a private space's thread, for the delivering community: the
        first of its servers that has one (the first server when none has)."""
        if not self.many:
            return space_key(space)
        guilds = self.delivering()
        for guild in guilds:
            if self.host.platform_record(space_key(space, guild)):
                return space_key(space, guild)
        return space_key(space, guilds[0]) if guilds else None

    def report_ready(self) -> None:
        """Say which served servers this process does not receive (another process
        runs their shard) and which the bot is not in."""
        for guild in self.settings.served_guilds():
            if not self.settings.runs(guild):
                log.info(
                    "discord: server %s is on shard %d, which another process runs",
                    guild,
                    self.settings.guild_shard(guild),
                )
            elif self.get(guild) is None:
                where = "spaces.discord" if self.many else "platforms.discord.guild"
                log.warning("discord: the bot is not in server %s (%s); invite it", guild, where)

    def published(self) -> tuple[int, ...]:
        """The servers whose slash commands this process publishes (in a deployment:
        each server's own, in its community's languages; none with one community,
        whose commands are global)."""
        if not self.many:
            return ()
        return tuple(g for g in self.settings.served_guilds() if self.settings.runs(g))
