"""Linked accounts in the in-memory store: the ``LinkStore`` reads, and the turn's
link writes and their part of ``/forget`` applied to the tables (as
``bot.store.link_sql`` does in SQL)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from bot.core.errors import Conflict
from bot.store.links import Disclosure, LinkCode, LinkedAccount
from bot.store.memory_tables import LinkRow, Tables
from bot.store.types import iso, parse_iso
from bot.store.writes import (
    BurnLinkCodes,
    ClaimLinkCode,
    DropLinkCode,
    IssueLinkCode,
    RemoveLink,
    SetLink,
    ShareLinks,
    UnshareLinks,
    Write,
)


class MemoryLinks:
    def __init__(self, tables: Callable[[], Tables]) -> None:
        self._tables = tables

    def code(self, community: str, code_hash: str) -> LinkCode | None:
        return self._tables().link_codes.get((community, code_hash))

    def codes_since(self, community: str, member: str, since: datetime) -> int:
        return sum(
            1
            for (c, _), row in self._tables().link_codes.items()
            if c == community and row.member == member and row.created_at >= since
        )

    def accounts(self, community: str, member: str) -> list[LinkedAccount]:
        links = self._tables().links
        mine = links.get((community, member))
        if mine is None:
            return []
        found = [
            LinkedAccount(m, row.person, row.share_cases, parse_iso(row.at))
            for (c, m), row in links.items()
            if c == community and row.person == mine.person
        ]
        return sorted(found, key=lambda a: (a.linked_at, a.member))

    def disclosures(self, community: str, case_id: int) -> list[Disclosure]:
        return [d for d in self._disclosed(community) if d.case_id == case_id]

    def disclosures_of(self, community: str, member: str) -> list[Disclosure]:
        found = [d for d in self._disclosed(community) if member in (d.member, d.account)]
        return sorted(found, key=lambda d: (d.case_id, d.member, d.account))

    def _disclosed(self, community: str) -> list[Disclosure]:
        tables = self._tables()
        found = []
        for (c, case_id, member, account), at in tables.disclosures.items():
            mine, theirs = tables.links.get((c, member)), tables.links.get((c, account))
            if c == community and mine and theirs and mine.person == theirs.person:
                found.append(Disclosure(case_id, member, account, parse_iso(at)))
        return sorted(found, key=lambda d: (d.member, d.account))


def apply_link_write(tables: Tables, write: Write) -> None:
    codes = tables.link_codes
    match write:
        case IssueLinkCode(community, code_hash, member, at, expires_at, forget_before):
            tables.link_codes = codes = {
                k: r
                for k, r in codes.items()
                if not (
                    k[0] == community and r.member == member and iso(r.created_at) < forget_before
                )
            }
            if (community, code_hash) in codes:
                raise Conflict("a linking code drawn twice")
            codes[(community, code_hash)] = LinkCode(
                code_hash, member, parse_iso(at), parse_iso(expires_at), None, False
            )
        case ClaimLinkCode(community, code_hash, claimer, at, until):
            row = codes.get((community, code_hash))
            if row is None or row.claimed_by or row.burnt or iso(row.expires_at) <= at:
                raise Conflict("a linking code was taken first")
            codes[(community, code_hash)] = replace(
                row, claimed_by=claimer, expires_at=parse_iso(until)
            )
        case BurnLinkCodes(community, code_hash, member):
            for key, row in list(codes.items()):
                if key[0] == community and (
                    key[1] == code_hash or (row.member == member and row.claimed_by is None)
                ):
                    codes[key] = replace(row, burnt=True)
        case DropLinkCode(community, code_hash):
            codes.pop((community, code_hash), None)
        case SetLink(community, member, person, share_cases, at):
            tables.links[(community, member)] = LinkRow(person, share_cases, at)
        case RemoveLink(community, member):
            tables.links.pop((community, member), None)
            sizes = Counter((c, row.person) for (c, _), row in tables.links.items())
            tables.links = {
                k: row for k, row in tables.links.items() if sizes[(k[0], row.person)] > 1
            }
            tables.disclosures = {
                k: at
                for k, at in tables.disclosures.items()
                if (k[0], k[2]) in tables.links and (k[0], k[3]) in tables.links
            }
        case ShareLinks(community, case_id, member, accounts, at):
            tables.disclosures = {
                k: v for k, v in tables.disclosures.items() if k[:3] != (community, case_id, member)
            }
            for account in accounts:
                tables.disclosures[(community, case_id, member, account)] = at
        case UnshareLinks(community, member, case_id):
            tables.disclosures = {
                k: v
                for k, v in tables.disclosures.items()
                if not (k[0] == community and member in (k[2], k[3]) and case_id in (None, k[1]))
            }


def forget_links(tables: Tables, community: str, key: str) -> None:
    tables.link_codes = {
        k: r
        for k, r in tables.link_codes.items()
        if not (k[0] == community and key in (r.member, r.claimed_by))
    }
    apply_link_write(tables, RemoveLink(community, key))


def prune_link_codes(tables: Tables, before: datetime) -> None:
    tables.link_codes = {k: r for k, r in tables.link_codes.items() if r.expires_at >= before}
