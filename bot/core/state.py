"""Conversation state and member profiles, as stored (JSON) and as used (dataclasses)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.core.events import MemberRef, Place, PlaceKind


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
    # Started while another flow's question waited in the same place: it begins when
    # that flow ends (one question at a time per place).
    queued: bool = False
    # The number of this flow's last question (``Conversation.asked``): a button pressed
    # under an older question names an older number.
    asked: int = 0


@dataclass
class Conversation:
    """A member's conversation with the bot in one community: the flows under way, each
    in its place (a DM, a channel, a private space), in the order they began there.

    In each place one flow is active: the latest one begun there, whose question the
    member saw last. Its answers are its own; a flow it interrupted (a code-of-conduct
    question in the middle of onboarding) resumes when it ends, then any flow queued
    there begins. Nothing typed in one place answers a question asked in another.
    ``focus`` is the flow the current event works on (never stored)."""

    community: str
    member: MemberRef
    frames: list[Frame] = field(default_factory=list)
    asked: int = 0  # questions asked so far, numbering each one
    focus: Frame | None = field(default=None, compare=False, repr=False)

    @property
    def current(self) -> Frame | None:
        focus = self.focus
        if focus is not None:
            for frame in self.frames:  # by identity: two frames may be equal
                if frame is focus:
                    return focus
        return None

    def active_in(self, place: Place) -> Frame | None:
        """The flow whose question the member saw last in ``place``."""
        for frame in reversed(self.frames):
            if frame.place == place and not frame.queued:
                return frame
        return None

    def queued_in(self, place: Place) -> Frame | None:
        """The flow queued first in ``place``: it begins when nothing is active there."""
        return next((f for f in self.frames if f.place == place and f.queued), None)

    def interrupted(self, frame: Frame) -> Frame | None:
        """The flow ``frame`` interrupted in its place: active there again when it ends."""
        earlier = self.frames[: next(i for i, f in enumerate(self.frames) if f is frame)]
        return next((f for f in reversed(earlier) if f.place == frame.place and not f.queued), None)

    def remove(self, frame: Frame) -> None:
        self.frames = [f for f in self.frames if f is not frame]
        if self.focus is frame:
            self.focus = None


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
    """A frame's counts and marks are left out while they are at their defaults (no
    invalid answer, not queued): ``conversation_from_dict`` reads them back as such,
    and every live conversation is that much smaller in the store."""
    return {
        "member": {
            "platform": conv.member.platform,
            "id": conv.member.id,
            "name": conv.member.name,
        },
        "asked": conv.asked,
        "frames": [_frame_to_dict(f) for f in conv.frames],
    }


def _frame_to_dict(f: Frame) -> dict[str, Any]:
    data = {
        "dialog": f.dialog,
        "step": f.step,
        "place": place_to_dict(f.place),
        "values": f.values,
        "waiting": f.waiting,
        "stage": f.stage,
        "asked": f.asked,
    }
    if f.invalid_count:
        data["invalid_count"] = f.invalid_count
    if f.queued:
        data["queued"] = True
    return data


def conversation_from_dict(community: str, data: dict[str, Any]) -> Conversation:
    """Also reads conversations stored as one stack of frames: a frame without a place
    talks in the member's DM, and a stack reads as the flows begun in that order."""
    member = MemberRef(**data["member"])
    frames = [
        Frame(
            dialog=f["dialog"],
            step=f["step"],
            place=place_from_dict(f.get("place")) or Place.direct(member),
            values=dict(f.get("values", {})),
            waiting=bool(f.get("waiting", False)),
            invalid_count=int(f.get("invalid_count", 0)),
            stage=int(f.get("stage", 0)),
            queued=bool(f.get("queued", False)),
            asked=int(f.get("asked", 0)),
        )
        for f in data.get("frames", [])
    ]
    return Conversation(community, member, frames, asked=int(data.get("asked", 0)))


def is_quiet(profile: Profile) -> bool:
    """The member asked for quiet (/quiet): nothing they did not ask for starts."""
    return bool(profile.extra.get("quiet"))


# A member's marks for the health counts (see bot/features/health/counting.py).
HEALTH_MARKS = "health"


def is_uncounted(profile: Profile) -> bool:
    """The member asked not to be counted in the community's health figures (the
    ``/quiet`` they asked for covers it)."""
    return bool(profile.extra.get("quiet"))


def profile_to_dict(profile: Profile) -> dict[str, Any]:
    """Every field, lists and mappings copied (``asdict`` did this, several times slower:
    it showed in profiles of every event)."""
    data = dict(profile.__dict__)
    for key, value in data.items():
        if isinstance(value, list | dict):
            data[key] = _copied(value)
    return data


def profile_changed(profile: Profile, stored: dict[str, Any] | None) -> dict[str, Any] | None:
    """``profile`` as a new dict to store, or None when it is what ``stored`` holds
    (most events change no profile: then nothing is copied)."""
    if stored is not None and profile.__dict__ == stored:
        return None
    return profile_to_dict(profile)


# Values that are their own copy: most of a profile's, and of what its lists hold.
_SCALARS = frozenset({str, int, float, bool, type(None)})


def _copied(value: Any) -> Any:
    """A deep copy of JSON-like data (lists, dicts, scalars), without deepcopy's memo;
    scalars are not walked into (a profile is read back on every turn that misses the
    engine's cache)."""
    if type(value) in _SCALARS:
        return value
    if isinstance(value, list):
        return [item if type(item) in _SCALARS else _copied(item) for item in value]
    if isinstance(value, dict):
        return {k: item if type(item) in _SCALARS else _copied(item) for k, item in value.items()}
    return value


def profile_from_dict(data: dict[str, Any]) -> Profile:
    """A profile that shares nothing with ``data`` (the engine compares the two later)."""
    fields = Profile.__dataclass_fields__
    return Profile(**{k: _copied(v) for k, v in data.items() if k in fields})


# Every field of a new profile at its default (``profile_to_dict(Profile())``), the
# lists and mappings among them (all empty) made anew for each profile read
# (``profile_from_stored``).
_DEFAULTS: dict[str, Any] = profile_to_dict(Profile())
_SCALAR_DEFAULTS = {k: v for k, v in _DEFAULTS.items() if type(v) in _SCALARS}
_EMPTY_DEFAULTS = tuple((k, type(v)) for k, v in _DEFAULTS.items() if type(v) not in _SCALARS)
_NO_DEFAULT = object()  # (a key that is no field's: always kept)


def profile_to_stored(data: dict[str, Any]) -> dict[str, Any]:
    """A profile as ``profile_to_dict`` makes it, without the fields at their defaults
    (no mentor, not left, no notices...): every member's row that much smaller in the
    store, and quicker to read back. ``profile_from_stored`` puts them back."""
    # Every default is falsy: a truthy value is kept without a comparison.
    return {k: v for k, v in data.items() if v or _DEFAULTS.get(k, _NO_DEFAULT) != v}


def profile_from_stored(data: dict[str, Any]) -> dict[str, Any]:
    """A stored profile (``profile_to_stored``, or every field, as older rows hold)
    with every field, as ``profile_to_dict`` makes it."""
    return {**_SCALAR_DEFAULTS, **{k: empty() for k, empty in _EMPTY_DEFAULTS}, **data}
