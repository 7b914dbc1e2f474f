"""The sections of concord.yaml that ``community.py`` reads, and the whole file's top."""

from __future__ import annotations

from bot.config.fields import Field, Section, custom
from bot.config.mediation import MEDIATION
from bot.config.reports import PRIVACY, REPORTS

COMMUNITY = Section(
    "The community Concord serves.",
    (
        Field("id", "text", "A short, stable id (used in the database).", required=True),
        Field("name", "text", "The community's name, shown to members.", required=True),
        Field(
            "default_language",
            "language",
            "Used when nothing better is known about a member.",
            default="en",
        ),
        Field(
            "languages",
            "language_list",
            "Languages offered to members; leave out to offer every shipped catalog.",
            default=[],
        ),
        Field(
            "code_of_conduct",
            "text",
            "Your own code of conduct (a path relative to this file).",
        ),
        Field(
            "locales",
            "text",
            "A folder of your own catalogs (<lang>/LC_MESSAGES/messages.po).",
        ),
    ),
)
INTEREST = Section(
    "An interest newcomers can choose, with where to start.",
    (
        Field(
            "id", "text", "A short id; texts come from the catalogs (interest.<id>).", required=True
        ),
        Field("label", "text", "The name shown when no catalog has a text.", required=True),
        Field("channels", "text_list", "Channels to start in.", default=[]),
        Field("resources", "text_list", "Links to start with.", default=[]),
    ),
)
MENTOR = Section(
    "A mentor newcomers can be matched with.",
    (
        Field("member", "member", "The mentor's platform:id.", required=True),
        Field("name", "text", "The name shown (default: the id after the colon)."),
        Field("languages", "language_list", "Languages the mentor speaks.", required=True),
        Field("interests", "text_list", "Ids of interests the mentor helps with.", default=[]),
        Field("capacity", "integer", "Newcomers at a time.", default=3, low=0, high=1000),
        Field("away", "boolean", "Away: not matched for now.", default=False),
    ),
)
ONBOARDING = Section(
    "Welcoming newcomers.",
    (
        Field("enabled", "boolean", "Welcome newcomers.", default=True),
        Field(
            "welcome",
            "choice",
            "direct: welcome in a direct message; channel: in welcome_channel.",
            default="direct",
            choices=("direct", "channel"),
        ),
        Field("welcome_channel", "text", "The channel for welcome: channel.", default="welcome"),
        Field(
            "acknowledgement_required",
            "boolean",
            "The role is granted only after the member agrees to the code of conduct.",
            default=True,
        ),
        Field(
            "role",
            "text",
            "The role granted to new members (leave empty for none).",
            default="member",
            nullable=True,
        ),
        Field("interests", "items", "What newcomers can choose.", section=INTEREST),
        Field("mentors", "items", "The mentors.", section=MENTOR),
        Field("offer_mentor", "boolean", "Offer newcomers a mentor.", default=True),
        Field(
            "checkin_after",
            "duration_or_off",
            "Check in with a newcomer after this long (30m, 12h, 2d, 1w or off).",
            default="7d",
            nullable=True,
        ),
        Field(
            "reminder_after",
            "duration_or_off",
            "Remind a newcomer who stalls before agreeing (30m, 12h, 2d, 1w or off).",
            default="2d",
            nullable=True,
        ),
    ),
    nullable=True,
)
MODERATORS = Section(
    "The moderators.",
    (
        Field(
            "channel",
            "text",
            'Where moderator notices go ("talk to a person", reports).',
            default="moderators",
        ),
        Field("members", "text_list", "Who may run moderator commands.", default=[]),
    ),
    nullable=True,
)
# Written before the platforms' list below: a community file's moderators' rooms.
_ROOM_PLATFORMS = (
    ("discord", "a channel id of the community's server"),
    ("irc", "a #channel"),
    ("matrix", "a room id or alias"),
    ("telegram", "a group id, a negative number"),
)
MODERATOR_ROOMS = Section(
    "A community on several platforms: its moderators' room on each. A notice about a"
    " member goes to the room on the member's platform, else to the first one named.",
    tuple(
        Field(name, "text", f"The moderators' room on {name}: {what}.")
        for name, what in _ROOM_PLATFORMS
    ),
    nullable=True,
)
COMMUNITY_MODERATORS = Section(
    MODERATORS.description,
    (
        *MODERATORS.fields,
        Field(
            "rooms",
            "section",
            MODERATOR_ROOMS.description + " Instead of ``channel``.",
            section=MODERATOR_ROOMS,
        ),
    ),
    nullable=True,
    exclusive=("channel", "rooms"),
)
LIMITS = Section(
    "Limits.",
    (
        Field(
            "messages_per_minute",
            "integer",
            "Per member; beyond this Concord asks them to slow down.",
            default=20,
            low=1,
            high=10000,
        ),
        Field(
            "live_conversations",
            "integer",
            "Conversations kept in memory (about 3 KB each); the rest are read from the database.",
            default=10_000,
            low=1,
            high=10_000_000,
        ),
    ),
    nullable=True,
)
LOGGING = Section(
    "The log: one line per handled event, without message text or member names at info.",
    (
        Field(
            "level",
            "choice",
            "debug, info, warning or error (--log-level overrides it); default: info for "
            "concord run, warning for concord chat.",
            choices=("debug", "info", "warning", "error"),
        ),
        Field(
            "format",
            "choice",
            "text or json: one JSON object a line (--log-format overrides it).",
            default="text",
            choices=("text", "json"),
        ),
    ),
    nullable=True,
)
METRICS = Section(
    "A Prometheus endpoint for operators (needs the metrics extra); off unless a port is set.",
    (
        Field("port", "integer", "The port to serve /metrics on.", low=1, high=65535),
        Field(
            "host",
            "text",
            "The address to listen on; loopback unless you mean otherwise.",
            default="127.0.0.1",
        ),
    ),
    nullable=True,
)
PLATFORM_NAMES = ("discord", "irc", "matrix", "telegram")
PLATFORMS_SECTION = Section(
    "Each platform's section (tokens by environment variable name).",
    tuple(custom(name, f"The {name} platform.", {"type": "object"}) for name in PLATFORM_NAMES),
    nullable=True,
)
SPACES = Section(
    "The platform spaces that belong to this community; events there are its own.",
    (
        Field("discord", "text_list", "Discord servers (guild ids).", default=[]),
        Field("irc", "text_list", "IRC channels (#name).", default=[]),
        Field("matrix", "text_list", "Matrix rooms (!id:server).", default=[]),
        Field("telegram", "text_list", "Telegram groups (negative chat ids).", default=[]),
    ),
    nullable=True,
)
COMMUNITY_FILE = Section(
    "One community of a deployment (a file in the folder ``communities`` names).",
    (
        Field("community", "section", COMMUNITY.description, section=COMMUNITY, required=True),
        Field("onboarding", "section", ONBOARDING.description, section=ONBOARDING),
        Field(
            "moderators",
            "section",
            COMMUNITY_MODERATORS.description,
            section=COMMUNITY_MODERATORS,
        ),
        Field("mediation", "section", MEDIATION.description, section=MEDIATION),
        Field("reports", "section", REPORTS.description, section=REPORTS),
        Field("spaces", "section", SPACES.description, section=SPACES),
    ),
)
TOP = Section(
    "Concord's configuration: one community, or a deployment of many (``communities``).",
    (
        Field(
            "community",
            "section",
            COMMUNITY.description + " Required unless ``communities`` names a folder.",
            section=COMMUNITY,
        ),
        Field(
            "communities",
            "text",
            "A folder of community files (*.yaml, relative to this file): one deployment"
            " serves them all.",
        ),
        Field("onboarding", "section", ONBOARDING.description, section=ONBOARDING),
        Field("moderators", "section", MODERATORS.description, section=MODERATORS),
        Field(
            "database",
            "text",
            "The database file (default: concord.db in your user data folder, or --db).",
            nullable=True,
        ),
        Field(
            "durability",
            "choice",
            "strict: every step on disk before its replies go out.",
            default="normal",
            choices=("normal", "strict"),
        ),
        Field("limits", "section", LIMITS.description, section=LIMITS),
        Field("platforms", "section", PLATFORMS_SECTION.description, section=PLATFORMS_SECTION),
        Field("mediation", "section", MEDIATION.description, section=MEDIATION),
        Field("reports", "section", REPORTS.description, section=REPORTS),
        Field("privacy", "section", PRIVACY.description, section=PRIVACY),
        Field("logging", "section", LOGGING.description, section=LOGGING),
        Field("metrics", "section", METRICS.description, section=METRICS),
    ),
)
