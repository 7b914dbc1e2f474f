"""Two communities on one Matrix bot: the product's adapter against the real Synapse
the suite starts (tests/synapse.py), members on their own matrix-nio clients, one
process, one SQLite file. Each room is its own community's: a member's power in one
community's room makes them a moderator there and nowhere else; a join is welcomed by
the community of the room, in its language; a notice reaches its own moderators' room."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("nio")
pytest.importorskip("synapse")

from adapters.matrix import settings as matrix_settings
from adapters.matrix.adapter import MatrixAdapter, create
from bot.app import build_engines
from bot.config.community import load_config
from bot.core.actions import GrantRole
from bot.core.events import CommandRun, Event, MemberRef
from bot.engine.engine import Engine
from bot.engine.host import AdapterHost
from tests.synapse import Synapse
from tests.test_matrix import TOKEN_ENV, Bot, World, synapse, until, world

__all__ = ["synapse", "world"]  # the fixtures: the homeserver, one test's users and rooms
ROOT = Path(__file__).parents[1]
LANGUAGES = {"alpha": "en", "beta": "es"}


class Deployment(Bot):
    """The Matrix adapter on the engines of a deployment, wired as ``concord run``
    wires them; every event each community's engine takes is kept, with its roles."""

    def __init__(self, config: Path, database: Path) -> None:
        self.config = load_config(config)
        self.database = database
        self.engines = build_engines(self.config, database)
        self.engine = self.engines[0]
        self.taken: list[tuple[str, Event]] = []
        for engine in self.engines:
            engine.handle = self._recording(engine)  # type: ignore[method-assign]
        self.host = AdapterHost.of(self.engines)
        settings = matrix_settings.parse(self.config.platforms["matrix"])
        self.adapter: MatrixAdapter = create(settings, self.host)
        self.engine.add_adapter(self.adapter)
        self.task: asyncio.Task[None] | None = None

    def _recording(self, engine: Engine) -> Any:
        handle = engine.handle

        async def recorded(event: Event, **options: Any) -> bool:
            self.taken.append((engine.community, event))
            return await handle(event, **options)

        return recorded

    def of(self, community: str) -> Engine:
        return next(e for e in self.engines if e.community == community)

    def commands(self, community: str, member: str) -> list[CommandRun]:
        return [
            e
            for c, e in self.taken
            if c == community and isinstance(e, CommandRun) and e.member.id == member
        ]


def write_deployment(world: World, rooms: dict[str, str], mods: dict[str, str]) -> Path:
    folder = world.folder / "communities"
    folder.mkdir()
    for ident, language in LANGUAGES.items():
        # One community names its room by alias, the other by id: both are routed.
        space = world.aliases[rooms[ident]] if ident == "alpha" else rooms[ident]
        (folder / f"{ident}.yaml").write_text(
            f"community:\n  id: {ident}\n  name: {ident.capitalize()}\n"
            f"  default_language: {language}\n  languages: [{language}]\n"
            f"  code_of_conduct: {ROOT / 'community' / 'code-of-conduct.yaml'}\n"
            f'moderators:\n  channel: "{world.aliases[mods[ident]]}"\n'
            f'spaces:\n  matrix: ["{space}"]\n',
            "utf-8",
        )
    section = {
        "homeserver": world.server.url,
        "user_id": world.bot_id,
        "token_env": TOKEN_ENV,
        "store_path": str(world.folder / "bot-store"),
        "send_rate": 1000,
        "send_burst": 1000,
    }
    path = world.folder / "concord.yaml"
    path.write_text(
        "communities: communities\nplatforms:\n  matrix: " + json.dumps(section) + "\n", "utf-8"
    )
    return path


def catalog_start(engine: Engine, locale: str, message: str) -> str:
    return engine.services.catalogs.translator(locale).gettext(message).split("{")[0].strip()


async def test_two_communities_rooms_roles_welcomes_and_notices(
    world: World, synapse: Synapse
) -> None:
    async with asyncio.timeout(90):
        owner = await world.member("owner")
        mod = await world.member("mod")
        rooms = {
            "alpha": await world.public_room(owner, "alpha", {mod.user_id: 50}),
            "beta": await world.public_room(owner, "beta", {}),
        }
        mods = {
            "alpha": await world.public_room(owner, "alpha-mods", {}),
            "beta": await world.public_room(owner, "beta-mods", {}),
        }
        for room in (*rooms.values(), mods["alpha"]):
            await mod.client.join(room)
        await owner.client.join(mods["beta"])
        bot = Deployment(write_deployment(world, rooms, mods), world.folder / "db")
        world.bots.append(bot)
        await bot.start()
        alpha, beta = bot.of("alpha"), bot.of("beta")

        # Power 50 in Alpha's room: a moderator in Alpha, not in Beta, whatever room
        # of the deployment the power level is in.
        await mod.say(rooms["alpha"], "!concord help")
        await mod.say(rooms["beta"], "!concord help")
        await until(lambda: len(bot.commands("beta", mod.user_id)) == 1, mod)
        await until(lambda: len(bot.commands("alpha", mod.user_id)) == 1, mod)
        assert bot.commands("alpha", mod.user_id)[0].roles == ("moderator",)
        assert bot.commands("beta", mod.user_id)[0].roles == ()

        # A join in Beta's room is welcomed by Beta, in Spanish.
        ana = await world.member("ana")
        await ana.client.join(rooms["beta"])
        welcome = await ana.from_bot(world.bot_id, catalog_start(beta, "es", "onboarding.welcome"))
        assert welcome.room_id not in rooms.values() and welcome.encrypted  # her direct room
        assert beta.services.store.load_profile("beta", f"matrix:{ana.user_id}") is not None
        assert alpha.services.store.load_profile("alpha", f"matrix:{ana.user_id}") is None

        # A request for a person in Alpha's room reaches Alpha's moderators' room only.
        carla = await world.member("carla")
        await carla.client.join(rooms["alpha"])
        await carla.say(rooms["alpha"], "!concord human")
        notice = await mod.from_bot(world.bot_id, "would like to talk to a person")
        assert notice.room_id == mods["alpha"] and carla.user_id in notice.body
        await owner.sync(0)
        said = [r for r in owner.received if r.sender == world.bot_id]
        assert [r for r in said if r.room_id == mods["beta"] and r.type == "m.room.message"] == []

        # A role granted by Beta is a power level in Beta's room, not in Alpha's.
        dan = MemberRef("matrix", (await world.member("dan")).user_id)
        within = beta.services.config.own_spaces("matrix")
        await bot.adapter.deliver(GrantRole(dan, "member", within))
        await until(
            lambda: owner.client.rooms[rooms["beta"]].power_levels.get_user_level(dan.id) == 1,
            owner,
        )
        assert owner.client.rooms[rooms["alpha"]].power_levels.get_user_level(dan.id) == 0
