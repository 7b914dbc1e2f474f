"""Newcomers restricted in the groups until the core grants them the member role.

With ``restrict_until_acknowledged`` the platform restricts newcomers (a capability):
the core decides who is held (``Restrict``, for a member who never agreed) and lifts
it by granting the member role. The groups each member was held in are kept in
Concord's database (the member record ``member`` of the user, erased by ``/forget``
with the rest of their data), so a restart forgets nothing and the grant reaches
every group.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from telegram import Bot, ChatPermissions

from adapters.telegram.send import Sender
from adapters.telegram.settings import TelegramSettings
from bot.core.errors import Undeliverable
from bot.engine.host import AdapterHost

log = logging.getLogger(__name__)


MEMBER = "member"  # the member record with the groups joined and the role
PLATFORM = "telegram"


class Restrictions:
    def __init__(
        self, host: AdapterHost, bot: Bot, sender: Sender, settings: TelegramSettings
    ) -> None:
        self.host = host
        self.bot = bot
        self.sender = sender
        self.settings = settings

    def _state(self, user_id: int) -> dict[str, Any]:
        saved = self.host.member_record(PLATFORM, str(user_id), MEMBER)
        state: dict[str, Any] = json.loads(saved) if saved else {}
        return {"groups": list(state.get("groups", []))}

    def _save(self, user_id: int, state: dict[str, Any]) -> None:
        self.host.save_member_record(PLATFORM, str(user_id), MEMBER, json.dumps(state))

    async def restrict_newcomer(self, chat_id: int, user_id: int) -> None:
        """The core holds a newcomer silent in a group (``Restrict``): the group is
        remembered, so granting the member role lets them write in every group."""
        state = self._state(user_id)
        if chat_id not in state["groups"]:
            state["groups"].append(chat_id)
            self._save(user_id, state)
        await self._set_permissions(chat_id, user_id, ChatPermissions.no_permissions())

    async def set_member(
        self, user_id: int, granted: bool, within: tuple[str, ...] | None = None
    ) -> None:
        """The member role granted or revoked: lift or restore the restriction in every
        group they joined (of those ``within``: the granting community's groups, in a
        deployment of many). A group that refuses (the bot lost its rights there) does
        not stop the others; the action is then undeliverable, naming those groups."""
        state = self._state(user_id)
        refused: list[str] = []
        if self.settings.restrict_until_acknowledged:
            permissions = (
                ChatPermissions.all_permissions() if granted else ChatPermissions.no_permissions()
            )
            for chat_id in state["groups"]:
                if within is not None and str(chat_id) not in within:
                    continue  # another community's group: its own onboarding decides
                try:
                    await self._set_permissions(chat_id, user_id, permissions)
                except Undeliverable as exc:
                    refused.append(str(exc))
        if refused:
            raise Undeliverable(f"permissions of {user_id} not changed: {'; '.join(refused)}")

    async def _set_permissions(
        self, chat_id: int, user_id: int, permissions: ChatPermissions
    ) -> None:
        await self.sender.call(
            chat_id,
            lambda c: self.bot.restrict_chat_member(c, user_id, permissions),
            paced=False,
        )
