"""Case-record writes a turn carries to its commit: plain records, no SQL.

Features build these (through the helpers in ``bot.store.cases`` and
``bot.store.privacy``); each backend turns them into its own writes inside the
turn's one transaction, so a case never changes without the conversation that
changed it, and nothing outside the store knows how a backend keeps them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CaseRow:
    """A case and its members as they were when the turn saved it (JSON text for
    ``data``, each member's reference and state)."""

    id: int
    community: str
    kind: str
    status: str
    opened_by: str
    mediator: str | None
    space: str | None
    created_at: str
    data: str
    number: int
    # (member key, member reference as JSON, role, state as JSON), in order.
    members: tuple[tuple[str, str, str, str], ...]


@dataclass(frozen=True, slots=True)
class SaveCase:
    case: CaseRow
    at: str


@dataclass(frozen=True, slots=True)
class ClaimCaseNumbers:
    """A new case's id (unique in the store) and its number among its kind, taken by
    the turn's commit: the commit fails with ``Conflict`` (and the turn runs again)
    when another commit took either first. So a number is never given twice, and a
    turn that fails takes none."""

    community: str
    kind: str
    case_id: int
    number: int


@dataclass(frozen=True, slots=True)
class AddCaseText:
    """A case text (statement, report, evidence): sealed by the store when a key is set."""

    case_id: int
    author: str
    kind: str
    text: str
    shared: bool
    at: str


@dataclass(frozen=True, slots=True)
class DeleteCaseTexts:
    case_id: int
    kinds: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AddCaseAudit:
    case_id: int
    actor: str
    action: str
    detail: str
    at: str


@dataclass(frozen=True, slots=True)
class AddInvitation:
    community: str
    requester: str
    target: str
    case_id: int
    at: str


@dataclass(frozen=True, slots=True)
class SetInvitation:
    case_id: int
    target: str
    outcome: str


@dataclass(frozen=True, slots=True)
class AddBlock:
    community: str
    target: str
    requester: str
    at: str


@dataclass(frozen=True, slots=True)
class ForgetMember:
    """Everything stored about one member, gone (``/forget``); open cases keep their
    texts when policy says so."""

    community: str
    key: str
    keep_open_cases: bool


@dataclass(frozen=True, slots=True)
class AddCount:
    """``n`` more of one daily health count: a number per community, day (UTC,
    ``2026-01-05``), metric, platform and language, naming no member."""

    community: str
    day: str
    metric: str
    platform: str
    language: str
    n: int = 1


@dataclass(frozen=True, slots=True)
class IssueLinkCode:
    """A one-time linking code, stored only as its hash. The member's own codes issued
    before ``forget_before`` go (they only counted against the rate limit). The commit
    fails with ``Conflict`` when a live code has the same hash (the turn draws again)."""

    community: str
    code_hash: str
    member: str
    at: str
    expires_at: str
    forget_before: str


@dataclass(frozen=True, slots=True)
class ClaimLinkCode:
    """The code is taken by ``claimer`` (single use): the commit fails with
    ``Conflict`` when another took it first, or it was burnt or expired meanwhile.
    A claimed request waits for the confirmations until ``until``."""

    community: str
    code_hash: str
    claimer: str
    at: str
    until: str


@dataclass(frozen=True, slots=True)
class BurnLinkCodes:
    """Codes that can no longer be used: the one with ``code_hash`` (seen in public),
    and every unclaimed code of ``member`` (either may be empty)."""

    community: str
    code_hash: str
    member: str


@dataclass(frozen=True, slots=True)
class DropLinkCode:
    community: str
    code_hash: str


@dataclass(frozen=True, slots=True)
class SetLink:
    """``member`` belongs to the linked accounts ``person``; ``share_cases``: its own
    cases may be followed from the others."""

    community: str
    member: str
    person: str
    share_cases: bool
    at: str


@dataclass(frozen=True, slots=True)
class RemoveLink:
    """``member`` is linked to nothing any more; an account left alone in its group
    is unlinked too, and what was shared of an account no longer linked is withdrawn."""

    community: str
    member: str


@dataclass(frozen=True, slots=True)
class ShareLinks:
    """``member``'s linked ``accounts`` are shown to the moderators of one case (what
    was shared for that case before is replaced)."""

    community: str
    case_id: int
    member: str
    accounts: tuple[str, ...]
    at: str


@dataclass(frozen=True, slots=True)
class UnshareLinks:
    """The disclosures ``member`` is in (as the one who shared or as an account shown)
    withdrawn: for one case, or for every case when ``case_id`` is None."""

    community: str
    member: str
    case_id: int | None


LinkWrite = (
    IssueLinkCode
    | ClaimLinkCode
    | BurnLinkCodes
    | DropLinkCode
    | SetLink
    | RemoveLink
    | ShareLinks
    | UnshareLinks
)

Write = (
    ClaimCaseNumbers
    | SaveCase
    | AddCaseText
    | DeleteCaseTexts
    | AddCaseAudit
    | AddInvitation
    | SetInvitation
    | AddBlock
    | ForgetMember
    | AddCount
    | LinkWrite
)
