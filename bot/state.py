"""Conversation state and member profiles, as stored (JSON) and as used (dataclasses)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.events import MemberRef, Place, PlaceKind


@dataclass
class Frame:
    """One running dialog: where it is, where it talks, what it has gathered."""

    dialog: str
    step: str
    place: Place | None = None
    values: dict[str, str] = field(default_factory=dict)
    waiting: bool = False
    invalid_count: int = 0
    stage: int = 0  # the highest "Step k of n" shown, so a repeated step is not renumbered


@dataclass
class Conversation:
    """A member's conversation with the bot in one community: a stack of dialogs, so a
    code-of-conduct question in the middle of onboarding returns to onboarding after."""

    community: str
    member: MemberRef
    frames: list[Frame] = field(default_factory=list)

    @property
    def current(self) -> Frame | None:
        return self.frames[-1] if self.frames else None


@dataclass
class Profile:
    """What Concord remembers about a member across every flow."""

    name: str = ""
    first_seen: str | None = None
    chosen_locale: str | None = None
    platform_locale: str | None = None
    acknowledged_version: str | None = None
    interests: list[str] = field(default_factory=list)
    mentor: str | None = None
    onboarded: bool = False
    left: bool = False
    notices: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


def place_to_dict(place: Place | None) -> dict[str, str] | None:
    if place is None:
        return None
    return {"platform": place.platform, "kind": place.kind.value, "id": place.id}


def place_from_dict(data: dict[str, str] | None) -> Place | None:
    if data is None:
        return None
    return Place(data["platform"], PlaceKind(data["kind"]), data["id"])


def conversation_to_dict(conv: Conversation) -> dict[str, Any]:
    return {
        "member": {
            "platform": conv.member.platform,
            "id": conv.member.id,
            "name": conv.member.name,
        },
        "frames": [
            {
                "dialog": f.dialog,
                "step": f.step,
                "place": place_to_dict(f.place),
                "values": f.values,
                "waiting": f.waiting,
                "invalid_count": f.invalid_count,
                "stage": f.stage,
            }
            for f in conv.frames
        ],
    }


def conversation_from_dict(community: str, data: dict[str, Any]) -> Conversation:
    frames = [
        Frame(
            dialog=f["dialog"],
            step=f["step"],
            place=place_from_dict(f.get("place")),
            values=dict(f.get("values", {})),
            waiting=bool(f.get("waiting", False)),
            invalid_count=int(f.get("invalid_count", 0)),
            stage=int(f.get("stage", 0)),
        )
        for f in data.get("frames", [])
    ]
    return Conversation(community, MemberRef(**data["member"]), frames)


def profile_to_dict(profile: Profile) -> dict[str, Any]:
    """Every field, lists and mappings copied (``asdict`` did this, several times slower:
    it showed in profiles of every event)."""
    data = dict(profile.__dict__)
    for key, value in data.items():
        if isinstance(value, list | dict):
            data[key] = _copied(value)
    return data


def _copied(value: Any) -> Any:
    """A deep copy of JSON-like data (lists, dicts, scalars), without deepcopy's memo."""
    if isinstance(value, list):
        return [_copied(item) for item in value]
    if isinstance(value, dict):
        return {key: _copied(item) for key, item in value.items()}
    return value


def profile_from_dict(data: dict[str, Any]) -> Profile:
    """A profile that shares nothing with ``data`` (the engine compares the two later)."""
    known = {k: _copied(v) for k, v in data.items() if k in Profile.__dataclass_fields__}
    return Profile(**known)
