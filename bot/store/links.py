"""Linked accounts as features read them: plain records, and the Protocol each
backend keeps (SQL in ``bot.store.link_sql``, memory in ``bot.store.memory_links``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class LinkCode:
    """A linking code as stored: its hash, never the code."""

    code_hash: str
    member: str  # who asked for it
    created_at: datetime
    expires_at: datetime
    claimed_by: str | None
    burnt: bool


@dataclass(frozen=True, slots=True)
class LinkedAccount:
    member: str
    person: str  # the group of accounts linked together
    share_cases: bool  # this account's cases may be followed from the others
    linked_at: datetime


@dataclass(frozen=True, slots=True)
class Disclosure:
    """``member`` (a party to the case) showed the moderators of case ``case_id`` that
    ``account`` is theirs too."""

    case_id: int
    member: str
    account: str
    at: datetime


class LinkStore(Protocol):
    def code(self, community: str, code_hash: str) -> LinkCode | None: ...

    def codes_since(self, community: str, member: str, since: datetime) -> int:
        """Codes the member asked for since then (for the rate limit)."""
        ...

    def accounts(self, community: str, member: str) -> list[LinkedAccount]:
        """Every account linked with ``member``, ``member`` included; empty when
        it is linked to nothing."""
        ...

    def disclosures(self, community: str, case_id: int) -> list[Disclosure]:
        """The linked accounts shown to the moderators of this one case, still linked."""
        ...

    def disclosures_of(self, community: str, member: str) -> list[Disclosure]:
        """Every disclosure ``member`` is in (as the one who shared, or as an account
        shown), still linked: what moderators were shown about this account."""
        ...
