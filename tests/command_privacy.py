"""Where privileged commands are answered, and what their answers reveal: one scenario
for every platform. A platform's test gives ``check_command_privacy`` a ``Driver`` for a
running community; the console's is in tests/test_command_privacy.py.

The community the driver runs has these members (the example config's roles):

- ``rhea``: files a pseudonymous report (report 1) about ``bob``;
- ``ana`` asks for mediation with ``sam`` (case 1), mediated by ``noor``; ``tomas``,
  also a mediator, is in conflict with ``ana`` and so not on the case;
- ``kai``: a moderator; ``mod``: a moderator and a mediation admin;
- ``bob``: a member; ``zed``: never joined; ``imp``: a member whose display name is
  ``kai`` (the driver gives it that name).

Places: ``direct`` (the member's direct messages with the bot), ``community`` (a
community channel), ``moderators`` (the moderators room) and ``unconfigured`` (a room
the community did not configure; on a platform where the bot ignores such rooms the
driver types in another community channel).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

PLACES = ("direct", "community", "moderators", "unconfigured")
ROLES = {
    "bob": "member",
    "sam": "case party",
    "tomas": "mediator not on the case",
    "kai": "moderator",
    "mod": "mediation admin",
    "zed": "not a member",
    "imp": "member renamed to a moderator's name",
}
MODERATORS = ("kai", "mod")
CASE_READERS = ("mod",)  # of the ROLES, who may see mediation case 1
REPORT_SECRET = "REPORT-SECRET"
CASE_SECRET = "MEDIATION-SECRET"
REPORTER = "rhea"
QUEUE = "reporter-1"  # the report queue names the reporter by this alias
PRIVATE_NOTICE = "only in private"  # the English notice sent with a moved answer


@dataclass(frozen=True)
class Heard:
    """Something the bot did, as the community sees it. ``where``: "dm" (``to`` is a
    member), "room" (``to`` is one of PLACES), "space", "removed" (a member's message
    removed from the room ``to``), "unseen" (in the room, seen by the member ``to``
    alone, as Discord's ephemeral answers to a slash command) or "other"."""

    where: str
    to: str
    text: str = ""


class Driver(Protocol):
    """A driver may say ``removes_typed = False`` where the platform cannot take a
    member's line back (IRC): a moved command then stays where it was typed, and only
    the answer must go elsewhere."""

    async def join(self, who: str) -> None: ...

    async def type(self, who: str, place: str, text: str) -> list[Heard]:
        """``who`` types ``text`` at ``place``; everything the bot did in answer."""
        ...


@dataclass(frozen=True)
class Probe:
    line: str
    twin: str | None = None  # the same about a number that does not exist
    moderators_room: bool = False  # moderators may have the answer in their room
    readers: tuple[str, ...] = MODERATORS  # who may see what the number names


PROBES = (
    Probe("/reports list", moderators_room=True),
    Probe("/reports show 1", "/reports show 999", moderators_room=True),
    Probe("/reports claim 1", "/reports claim 999", moderators_room=True),
    Probe("/sanction bob warning 1 Rude words", moderators_room=True),
    Probe("/appeals list", moderators_room=True),
    Probe("/case list"),
    Probe("/case show 1", "/case show 999", readers=CASE_READERS),
    Probe("/case take 1", "/case take 999", readers=CASE_READERS),
    Probe("/case note 1 A note", "/case note 999 A note", readers=CASE_READERS),
    Probe("/mydata"),
    Probe("/pause"),
)


async def set_up(driver: Driver) -> None:
    """Report 1 from rhea (pseudonymous) and mediation case 1 between ana and sam."""
    for who in ("rhea", "ana", "sam", "bob", "imp"):
        await driver.join(who)
        await driver.type(who, "direct", "/stop")
    report = ["/report", "2", f"{REPORT_SECRET} mocking my English", "bob", "yesterday"]
    for text in [*report, "1", "none", "2", "1"]:
        await driver.type("rhea", "direct", text)
    mediation = ["/mediate sam", f"{CASE_SECRET} tense reviews", "2", "2", "1", "1"]
    for text in mediation:
        await driver.type("ana", "direct", text)
    heard = await driver.type("sam", "direct", "1")
    assert any(h.to == "noor" and "case 1" in h.text for h in heard), heard


def moved(probe: Probe, who: str, place: str) -> bool:
    """Whether the answer must leave the place it was typed in."""
    if place == "direct":
        return False
    return not (place == "moderators" and probe.moderators_room and who in MODERATORS)


def problems(
    probe: Probe, who: str, place: str, heard: list[Heard], removes_typed: bool = True
) -> list[str]:
    said = f"{ROLES[who]} {who!r} typing {probe.line!r} in {place}"
    found = []
    for h in heard:
        if h.where == "room" and moved(probe, who, place):
            found.append(f"{said}: said in the {h.to} room: {h.text!r}")
        if h.where == "room" and h.to != "moderators":
            found.append(f"{said}: said in the {h.to} room: {h.text!r}")
        private = h.where in ("dm", "unseen")
        if REPORT_SECRET in h.text and not (private and h.to in MODERATORS):
            found.append(f"{said}: the report's text reached {h.where} {h.to}")
        if CASE_SECRET in h.text and not (private and h.to in CASE_READERS):
            found.append(f"{said}: the case's text reached {h.where} {h.to}")
        if REPORTER in h.text and h.to != REPORTER:
            found.append(f"{said}: the reporter is named to {h.where} {h.to}")
        if QUEUE in h.text and who not in MODERATORS:
            found.append(f"{said}: the report queue reached {h.where} {h.to}")
    removed = [h for h in heard if h.where == "removed"]
    told = [h for h in heard if h.where == "dm" and h.to == who and PRIVATE_NOTICE in h.text]
    unseen = any(h.where == "unseen" for h in heard)
    if moved(probe, who, place) and unseen:
        # Answered to the sender alone where it was typed, which nobody else saw.
        if removed or told:
            found.append(f"{said}: a command nobody saw was removed or moved")
    elif moved(probe, who, place):
        if removes_typed and [h.to for h in removed] != [place]:
            found.append(f"{said}: the typed message is not removed ({removed})")
        if not told:
            found.append(f"{said}: not told privately why the answer is not there")
        if not any(h.where == "dm" and h.to == who and h not in told for h in heard):
            found.append(f"{said}: no answer in the direct messages")
    elif removed or told:
        found.append(f"{said}: moved or removed although it may be typed there")
    return found


def unnumbered(heard: list[Heard], number: str) -> list[Heard]:
    return [Heard(h.where, h.to, h.text.replace(number, "N")) for h in heard]


async def check_command_privacy(driver: Driver) -> None:
    """Every probe, by every role, in every place; fails with every problem found."""
    await set_up(driver)
    removes = getattr(driver, "removes_typed", True)
    found: list[str] = []
    for probe in PROBES:
        for who in ROLES:
            for place in PLACES:
                heard = await driver.type(who, place, probe.line)
                found += problems(probe, who, place, heard, removes)
                if probe.twin is None or who in probe.readers:
                    continue
                twin = await driver.type(who, place, probe.twin)
                number = probe.line.split()[2]
                if unnumbered(heard, number) != unnumbered(twin, "999"):
                    found.append(
                        f"{ROLES[who]} {who!r} in {place} can tell that {probe.line!r} names"
                        f" something: {heard} against {twin}"
                    )
    assert not found, "\n".join(found)
