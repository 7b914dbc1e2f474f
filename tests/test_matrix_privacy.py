"""Private words stay private on Matrix, against a real Synapse homeserver on loopback.

- Nothing the bot writes into a room that is encrypted (or that it created encrypted)
  is ever in the clear, also when the delivery runs outside the sync task (a restart's
  backlog, another platform's event) while ``/sync`` returns the new room part-way
  through its creation; and a member gets one direct room, not two.
- A member's direct room is one the bot made (or the member made with only the two of
  them in it): an attacker's "direct" room that a target was invited to is never used.
- A member links their Matrix and Telegram accounts (``/link``): the code and the
  question arrive encrypted in their direct room, and both sides confirm.

What the members' servers hold is read through the admin API, as a second client sees
it: the room's state and its events.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("nio")
pytest.importorskip("synapse")

from nio import ErrorResponse, MatrixRoom, RoomPreset  # type: ignore[import-untyped]
from nio.api import Api  # type: ignore[import-untyped]

from adapters.telegram import adapter as telegram_adapter
from adapters.telegram import settings as telegram_settings
from bot.core.actions import Ask, Choice, Say
from bot.core.events import Place, PlaceKind
from tests import test_telegram as on_telegram
from tests.synapse import Account, Member, Synapse, synapse_server, unique
from tests.telegram_standin import BotApiStandIn
from tests.test_accessibility_platforms import telegram_typed_onboarding
from tests.test_matrix import (
    ENCRYPTION,
    Bot,
    World,
    deliver_as,
    direct_room,
    joined,
    until,
    write_config,
)

pytestmark = list(on_telegram.pytestmark)


YES_NO = (Choice("yes", "Yes"), Choice("no", "No"))
LINKING_CODE = re.compile(r"\b([A-Z2-9]{6})\b")


@pytest.fixture(scope="module")
def synapse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synapse]:
    yield from synapse_server(tmp_path_factory.mktemp("synapse"))


@pytest.fixture
async def world(
    synapse: Synapse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[World]:
    world = World(synapse, tmp_path, monkeypatch)
    try:
        yield world
    finally:
        await world.close()


def state_of(server: Synapse, admin: Account, room_id: str) -> list[dict[str, Any]]:
    path = f"/_synapse/admin/v1/rooms/{room_id}/state"
    state: list[dict[str, Any]] = server.request("GET", path, token=admin.token)["state"]
    return state


def clear_messages(server: Synapse, admin: Account, room_id: str, sender: str) -> list[str]:
    """What ``sender`` wrote in the clear in the room (its type, and the body of a
    message), when the room's state says it is encrypted: what must never happen. State
    events and redactions cannot be encrypted; everything else must be."""
    state = state_of(server, admin, room_id)
    if not any(e["type"] == "m.room.encryption" for e in state):
        return []
    return [
        f"{e['type']}: {e['content'].get('body', '')}"
        for e in server.room_events(admin, room_id, 200)
        if e["sender"] == sender
        and "state_key" not in e
        and e["type"] not in ("m.room.encrypted", "m.room.redaction")
    ]


def rooms_inviting(server: Synapse, admin: Account, bot: str, user: str) -> list[str]:
    """The rooms the bot invited ``user`` to (read from the rooms the bot is in)."""
    found = server.request("GET", f"/_synapse/admin/v1/users/{bot}/joined_rooms", token=admin.token)
    rooms = []
    for room_id in found["joined_rooms"]:
        if any(
            e["type"] == "m.room.member"
            and e["state_key"] == user
            and e["sender"] == bot
            and e["content"].get("membership") == "invite"
            for e in server.room_events(admin, room_id, 200)
        ):
            rooms.append(room_id)
    return rooms


async def assert_private(world: World, admin: Account, user: str) -> str:
    """The member's one direct room with the bot, with nothing in it in the clear."""
    server = world.server
    rooms = await asyncio.to_thread(rooms_inviting, server, admin, world.bot_id, user)
    assert len(rooms) == 1, rooms
    for room_id in rooms:
        clear = await asyncio.to_thread(clear_messages, server, admin, room_id, world.bot_id)
        assert clear == [], clear
        state = await asyncio.to_thread(state_of, server, admin, room_id)
        assert any(e["type"] == "m.room.encryption" for e in state)
    return rooms[0]


# Delivery outside the sync task -------------------------------------------------------------


async def test_delivery_outside_the_sync_task_is_encrypted_in_one_room(world: World) -> None:
    """A notice for a member the bot never wrote to, delivered from another task (as a
    Telegram event's reply is) while the sync loop runs: the new direct room shows up in
    ``/sync`` before ``createRoom`` returns. The notice and the next message are
    encrypted, in the same single room."""
    async with asyncio.timeout(90):
        admin = await world.member("admin", admin=True)
        bot = await world.bot()
        mentors = [await world.member(f"mentor{n}x") for n in range(3)]
        for mentor in mentors:
            direct = Place("matrix", PlaceKind.DIRECT, mentor.user_id)
            await bot.adapter.deliver(Say(direct, "New mentee: Ana, speaks es, likes code"))
            await bot.adapter.deliver(Say(direct, "Step 1 of 6"))
            await bot.adapter.deliver(Ask(direct, "Can you mentor Ana?", YES_NO))
        for mentor in mentors:
            said = await mentor.wait_for(
                lambda r: r.sender == world.bot_id and r.type == "m.room.message", count=2
            )
            first, second = sorted(said, key=lambda r: "Step" in r.body)
            # The keycaps under the question are encrypted too (keys are relations,
            # which stay readable to the server as the specification wants).
            keys = await mentor.wait_for(lambda r: r.type == "m.reaction", count=2)
            assert all(k.encrypted for k in keys)
            assert "New mentee" in first.body and "Step 1 of 6" in second.body
            assert first.encrypted and second.encrypted
            assert first.room_id == second.room_id
            dm = await assert_private(world, admin.account, mentor.user_id)
            assert dm == first.room_id == bot.host.member_record("matrix", mentor.user_id, "dm")


class Crash(BaseException):
    """The process dies here (as by SIGKILL): nothing after it runs."""


async def test_a_crash_while_a_direct_room_is_made_leaves_one_room(world: World) -> None:
    """The bot stops dead after ``createRoom`` succeeded but before it recorded the
    room: after the restart the same action is delivered again, into that room (found
    by the nonce the bot wrote into it), not into a second one."""
    async with asyncio.timeout(60):
        admin = await world.member("admin", admin=True)
        bot = await world.bot()
        noor = await world.member("noor")
        client = bot.adapter.client
        create = client.room_create

        async def then_crash(*args: Any, **kwargs: Any) -> Any:
            await create(*args, **kwargs)
            raise Crash

        client.room_create = then_crash
        welcome = Say(Place("matrix", PlaceKind.DIRECT, noor.user_id), "Welcome, Noor")
        with pytest.raises(Crash):
            await deliver_as(bot, 42, welcome)
        await bot.stop()

        again = await world.bot()
        await deliver_as(again, 42, welcome)
        said = await noor.from_bot(world.bot_id, "Welcome, Noor")
        assert said.encrypted
        await noor.sync(500)
        assert await assert_private(world, admin.account, noor.user_id) == said.room_id


class Runner:
    """The adapter started as ``concord run`` starts it: nothing is delivered before it
    is ready, and what waited in the outbox goes out from the outbox task, not from the
    sync loop."""

    def __init__(self, world: World, matrix: str) -> None:
        config = write_config(world.folder, world.server, world.bot_account, matrix)
        self.bot = Bot(config, world.folder / "concord.db")
        self.bot.engine.add_adapter(self.bot.adapter, ready=False)
        world.bots.append(self.bot)
        self.outbox: asyncio.Task[None] | None = None

    async def start(self) -> Bot:
        self.outbox = asyncio.create_task(self.bot.engine.retry_outbox())
        return await self.bot.start()

    async def stop(self) -> None:
        if self.outbox is not None:
            self.outbox.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.outbox
        await self.bot.stop()


async def test_a_join_while_stopped_is_welcomed_encrypted_in_one_room(world: World) -> None:
    """Concord stops; a newcomer joins; Concord starts again. The welcome waits in the
    outbox until the adapter is ready, then goes out while the sync loop runs: one
    direct room, and no plaintext in it."""
    async with asyncio.timeout(120):
        owner = await world.member("owner", admin=True)
        room = await world.public_room(owner, "hall", {})
        config = f'rooms: ["{room}"]'
        for round_ in range(2):
            first = Runner(world, config)
            await first.start()
            await first.stop()
            newcomer = await world.member(f"new{round_}x")
            await newcomer.client.join(room)
            again = Runner(world, config)
            try:
                await again.start()
                welcome = await newcomer.from_bot(world.bot_id, "Welcome to Example Community")
                question = await newcomer.from_bot(world.bot_id, "1. English")
                assert welcome.encrypted and question.encrypted
                assert welcome.room_id == question.room_id
                await newcomer.sync(500)
                await assert_private(world, owner.account, newcomer.user_id)
            finally:
                await again.stop()


async def test_a_room_nio_does_not_know_as_encrypted_is_not_written_to(world: World) -> None:
    """The room was made encrypted, but nio's view of it lacks its encryption (as after a
    sync that brought it part-way through its creation): the reply is not sent in the
    clear; it stays in the outbox, and goes out encrypted once the state is known."""
    async with asyncio.timeout(60):
        admin = await world.member("admin", admin=True)
        bot = await world.bot()
        kim = await world.member("kim")
        direct = Place("matrix", PlaceKind.DIRECT, kim.user_id)
        await bot.adapter.deliver(Say(direct, "Hello Kim"))
        hello = await kim.from_bot(world.bot_id, "Hello Kim")
        dm = hello.room_id
        stale = MatrixRoom(dm, world.bot_id)  # what nio builds from such a sync
        stale.add_member(world.bot_id, None, None)
        stale.add_member(kim.user_id, None, None)
        bot.adapter.client.rooms[dm] = stale

        await kim.say(dm, "!concord help")
        store = bot.engine.services.store
        await until(lambda: bool(store.pending_outbox()), kim)
        (waiting,) = store.pending_outbox()
        assert isinstance(waiting.action, Say) and waiting.action.to == direct
        await kim.sync(500)
        clear = await asyncio.to_thread(
            clear_messages, world.server, admin.account, dm, world.bot_id
        )
        assert clear == []

        # After a restart the room's full state is known: the reply goes out encrypted.
        await bot.stop()
        again = await world.bot()
        assert await again.engine.flush_outbox() == 1
        answer = await kim.from_bot(world.bot_id, "Here is what I can do", room=dm)
        assert answer.encrypted
        await assert_private(world, admin.account, kim.user_id)


# The direct-room hijack ---------------------------------------------------------------------


async def put_state(member: Member, room_id: str, kind: str, content: dict[str, Any]) -> None:
    response = await member.client.room_put_state(room_id, kind, content)
    assert not isinstance(response, ErrorResponse), response


async def test_an_attackers_direct_room_is_never_used_for_someone_else(world: World) -> None:
    """An attacker opens a "direct" room with the bot, makes it public with shared
    history, invites the target and leaves. A moderator's sanction notice to the target
    goes to a new direct room the bot makes; the attacker, back in their room, reads
    nothing."""
    async with asyncio.timeout(90):
        owner = await world.member("owner", admin=True)
        mod = await world.member("mod")
        target = await world.member("target")
        room = await world.public_room(owner, "hall", {mod.user_id: 50})
        await mod.client.join(room)
        await target.client.join(room)  # before the bot starts: never welcomed
        bot = await world.bot(f'rooms: ["{room}"]', decrypt_grace=0.3)
        await target.say(room, "hello everyone")
        await until(lambda: any(e.member.id == target.user_id for e in bot.host.events), target)

        attacker = await world.member("attacker")
        created = await attacker.client.room_create(
            is_direct=True,
            invite=[world.bot_id],
            preset=RoomPreset.private_chat,
            initial_state=[ENCRYPTION],
        )
        trap = str(created.room_id)
        await until(lambda: joined(attacker, trap, world.bot_id), attacker)
        await put_state(attacker, trap, "m.room.join_rules", {"join_rule": "public"})
        await put_state(
            attacker, trap, "m.room.history_visibility", {"history_visibility": "shared"}
        )
        invited = await attacker.client.room_invite(trap, target.user_id)
        assert not isinstance(invited, ErrorResponse), invited
        await attacker.client.room_leave(trap)
        await until(lambda: joined(target, trap, target.user_id), target)  # target accepts

        sanction = f"!concord sanction {target.user_id} warning privacy posting private photos"
        await mod.say(room, sanction)
        notice = await target.from_bot(world.bot_id, "A moderator recorded this about you")
        assert notice.room_id != trap and notice.encrypted
        dm = target.client.rooms[notice.room_id]
        assert set(dm.users) == {world.bot_id, target.user_id}
        assert dm.join_rule == "invite"
        state = await asyncio.to_thread(state_of, world.server, owner.account, notice.room_id)
        creation = next(e for e in state if e["type"] == "m.room.create")
        assert creation["sender"] == world.bot_id

        # Commands the target types in the attacker's room are not answered there.
        await target.say(trap, "!concord help")
        await target.say(notice.room_id, "!concord help")
        await target.from_bot(world.bot_id, "Here is what I can do", room=notice.room_id)
        assert bot.host.member_record("matrix", target.user_id, "dm") == notice.room_id

        # The attacker can come back and read the room's whole history: it holds nothing
        # from the bot beyond its arrival.
        back = await attacker.client.join(trap)
        assert not isinstance(back, ErrorResponse), back
        events = await asyncio.to_thread(world.server.room_events, owner.account, trap, 200)
        from_bot = [e["type"] for e in events if e["sender"] == world.bot_id]
        assert set(from_bot) <= {"m.room.member"}, from_bot


# The "could not decrypt" notice ---------------------------------------------------------------


async def send_undecryptable(member: Member, room_id: str) -> None:
    """An encrypted message whose key the bot never gets."""
    olm = member.client.olm
    content = {
        "algorithm": "m.megolm.v1.aes-sha2",
        "ciphertext": "AwgAEnB" + "A" * 40,
        "sender_key": olm.account.identity_keys["curve25519"],
        "device_id": member.client.device_id,
        "session_id": unique("lost-session"),
    }
    method, path, data = Api.room_send(
        member.client.access_token, room_id, "m.room.encrypted", content, unique("tx")
    )
    await member.client.send(method, path, data)


async def test_the_could_not_decrypt_notice_is_in_the_members_language(world: World) -> None:
    async with asyncio.timeout(60):
        bot = await world.bot(decrypt_grace=0.3)
        lucia = await world.member("lucia")
        created = await lucia.client.room_create(
            is_direct=True,
            invite=[world.bot_id],
            preset=RoomPreset.private_chat,
            initial_state=[ENCRYPTION],
        )
        dm = str(created.room_id)
        await until(lambda: joined(lucia, dm, world.bot_id), lucia)
        await lucia.say(dm, "/language")
        await lucia.from_bot(world.bot_id, "English", room=dm)
        await lucia.say(dm, "Español")
        await lucia.from_bot(world.bot_id, "", room=dm)
        spanish = bot.engine.services.catalogs.translator("es").gettext("matrix.cannot_decrypt")
        assert spanish != "matrix.cannot_decrypt" and "No pude leer" in spanish

        await send_undecryptable(lucia, dm)
        notice = await lucia.from_bot(world.bot_id, "No pude leer tu último mensaje", room=dm)
        assert notice.encrypted and notice.body == spanish


# Telegram and Matrix in one process ------------------------------------------------------------


def with_telegram(path: Path, standin: BotApiStandIn, mentor: str) -> None:
    """The Matrix test config, with the Telegram group added and one mentor on Matrix."""
    text = path.read_text("utf-8")
    start, end = text.index("  mentors:"), text.index("\nmoderators:")
    mentors = (
        f'  mentors:\n    - {{member: "matrix:{mentor}", name: Maria, languages: [es, en],'
        " interests: [translation, code], capacity: 5}\n"
    )
    section = {
        "token_env": on_telegram.TOKEN_ENV,
        "base_url": standin.base_url,
        "groups": [on_telegram.GROUP],
        "poll_timeout": 5,
    }
    text = text[:start] + mentors + text[end:] + "  telegram: " + json.dumps(section) + "\n"
    path.write_text(text, "utf-8")


async def bot_on_matrix_and_telegram(
    world: World, path: Path, standin: BotApiStandIn
) -> tuple[Bot, telegram_adapter.TelegramAdapter, asyncio.Task[None]]:
    """One Concord on Synapse and on the Telegram stand-in, polling once it is ready."""
    bot = Bot(path, world.folder / "concord.db")
    world.bots.append(bot)
    settings = telegram_settings.parse(bot.config.platforms["telegram"])
    adapter = telegram_adapter.create(settings, bot.host, on_telegram.FAST)
    bot.engine.add_adapter(adapter)
    await bot.start()
    polls = len(standin.poll_offsets)
    telegram = asyncio.create_task(adapter.run())
    await standin.wait_for(lambda: len(standin.poll_offsets) > polls)
    return bot, adapter, telegram


async def test_a_telegram_newcomers_matrix_mentor_is_told_in_private(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Telegram newcomer asks for a mentor and is matched with a Matrix mentor: the
    notice (name, language, interests) is delivered from the Telegram task while the
    Matrix sync loop runs. It arrives encrypted, in the mentor's one direct room."""
    monkeypatch.setenv(on_telegram.TOKEN_ENV, on_telegram.TOKEN)
    standin = BotApiStandIn(on_telegram.TOKEN)
    await standin.start()
    telegram: asyncio.Task[None] | None = None
    try:
        async with asyncio.timeout(90):
            owner = await world.member("owner", admin=True)
            mentor = await world.member("mentor")
            path = write_config(world.folder, world.server, world.bot_account, "")
            with_telegram(path, standin, mentor.user_id)
            bot, adapter, telegram = await bot_on_matrix_and_telegram(world, path, standin)

            ana = standin.user(5003, "Ana", language_code="en")
            await telegram_typed_onboarding(standin, bot.engine, ana, "en")
            said = await mentor.wait_for(
                lambda r: r.sender == world.bot_id and r.type == "m.room.message"
            )
            assert "Ana" in said[0].body and said[0].encrypted
            dm = await assert_private(world, owner.account, mentor.user_id)
            assert said[0].room_id == dm
    finally:
        if telegram is not None:
            telegram.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await telegram
            await adapter.close()
        await standin.stop()


async def test_a_member_links_their_matrix_and_telegram_accounts(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(on_telegram.TOKEN_ENV, on_telegram.TOKEN)
    standin = BotApiStandIn(on_telegram.TOKEN)
    await standin.start()
    telegram: asyncio.Task[None] | None = None
    try:
        async with asyncio.timeout(120):
            ana = await world.member("ana")
            path = write_config(world.folder, world.server, world.bot_account, "")
            section = {
                "token_env": on_telegram.TOKEN_ENV,
                "base_url": standin.base_url,
                "groups": [on_telegram.GROUP],
                "poll_timeout": 5,
            }
            path.write_text(path.read_text("utf-8") + "  telegram: " + json.dumps(section) + "\n")
            bot, adapter, telegram = await bot_on_matrix_and_telegram(world, path, standin)

            # On Matrix, in an encrypted direct room: a code.
            dm = await direct_room(world, ana, encrypted=True)
            await ana.say(dm, "/link")
            given = await ana.from_bot(world.bot_id, "Your linking code is", room=dm)
            assert given.encrypted
            found = LINKING_CODE.search(given.body)
            assert found is not None
            # Sent back from Telegram, which confirms first.
            ana_tg = standin.user(5201, "Ana", language_code="en")
            standin.say(ana_tg, f"/link {found.group(1)}")
            await standin.wait_for(lambda: any(s.buttons for s in standin.to(5201)))
            question = next(s for s in standin.to(5201) if s.buttons)
            standin.press(ana_tg, question, "link")
            # Then Matrix, by typing the number.
            await ana.from_bot(world.bot_id, "Do you want to link the two accounts?", room=dm)
            await ana.say(dm, "1")
            linked = await ana.from_bot(world.bot_id, "your Telegram account are linked", room=dm)
            assert linked.encrypted
            await standin.wait_for(
                lambda: any("your Matrix account are linked" in t for t in standin.texts(5201))
            )
            community = bot.config.community_id
            accounts = bot.engine.services.store.links.accounts(community, "telegram:5201")
            assert [a.member for a in accounts] == [f"matrix:{ana.user_id}", "telegram:5201"]
    finally:
        if telegram is not None:
            telegram.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await telegram
            await adapter.close()
        await standin.stop()
