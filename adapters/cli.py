"""The ``concord`` command."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import bot
from adapters.console.adapter import ConsoleSyntaxError
from adapters.console.adapter import write_out as echo
from adapters.console.session import AdvancingClock, ConsoleSession
from adapters.console.transcript import run_transcript
from adapters.logs import FORMATS, LEVELS, configure_logging
from adapters.operations import Operations
from adapters.platforms import Role, platform_specs, run_platforms, settings_module
from bot.app import default_database, load_content, open_store
from bot.config.community import load_config, one_community
from bot.config.schema import community_file_schema, config_schema
from bot.core.clock import ManualClock, SystemClock
from bot.core.errors import ConcordError, UsageError
from bot.core.resources import locales_dir
from bot.features.health.command import make_report, write_out
from bot.i18n.catalogs import Catalogs
from bot.i18n.status import language_statuses, markdown_table, replace_table
from bot.store.postgres import is_postgres_url

COMMUNITY_HELP = "the community (its id) of a deployment of several"


def parser_of_commands() -> argparse.ArgumentParser:
    """``concord`` and its commands, each with its own arguments."""
    parser = argparse.ArgumentParser(
        prog="concord",
        description=("A community-health chatbot: onboarding, code of conduct and mediation."),
    )
    parser.add_argument("--version", action="version", version=f"concord {bot.__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    logs = argparse.ArgumentParser(add_help=False)
    logs.add_argument("--log-level", choices=tuple(LEVELS), help="default: from the config")
    logs.add_argument("--log-format", choices=FORMATS, help="text (default) or json")
    operations = argparse.ArgumentParser(add_help=False, parents=[logs])
    operations.add_argument(
        "--metrics-port", type=int, metavar="PORT", help="serve Prometheus metrics on PORT"
    )
    chat = commands.add_parser(
        "chat", help="an interactive console community", parents=[operations]
    )
    chat.add_argument("--config", type=Path, help="concord.yaml (default: the example community)")
    chat.add_argument("--db", type=Path, help="database file")
    chat.add_argument("--transcript", type=Path, help="play a transcript and compare")
    chat.add_argument("--community", help=COMMUNITY_HELP)
    check = commands.add_parser(
        "check", help="validate config, dialogs, catalogs, code of conduct, a PostgreSQL database"
    )
    check.add_argument("config", nargs="?", type=Path)
    check.add_argument("--db", help="a postgresql:// URL to check (default: the config's)")
    languages = commands.add_parser(
        "languages", help="print each catalog's review status and completeness (Markdown)"
    )
    languages.add_argument(
        "--write", type=Path, metavar="FILE", help="replace the table in FILE (README.md)"
    )
    schema = commands.add_parser("schema", help="print the JSON Schema of concord.yaml")
    schema.add_argument(
        "--community",
        action="store_true",
        help="the schema of one community's file in a deployment's communities folder",
    )
    run = commands.add_parser(
        "run", help="run every configured platform in one process", parents=[operations]
    )
    run.add_argument("config", type=Path)
    run.add_argument("--db", help="database file or postgresql:// URL")
    run.add_argument(
        "--platforms",
        metavar="NAMES",
        help="only these configured platforms, such as telegram,matrix (default: all)",
    )
    run.add_argument(
        "--discord-shard", metavar="N/COUNT", help="run Discord shard N of COUNT (0/4)"
    )
    _add_report(commands, logs)
    return parser


def _add_report(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], logs: argparse.ArgumentParser
) -> None:
    """``concord report``; its progress over a large database goes to the log, on
    standard error (info, unless ``--log-level`` or the config say otherwise)."""
    report = commands.add_parser(
        "report",
        help="community health and transparency figures, small numbers hidden",
        parents=[logs],
    )
    report.add_argument("--config", type=Path, help="concord.yaml (default: the example)")
    report.add_argument("--db", help="database file or postgresql:// URL")
    report.add_argument("--since", default="90d", help="90d, 12w or a date (default: 90d)")
    report.add_argument("--out", type=Path, help="write the page here (default: print it)")
    report.add_argument("--json", action="store_true", help="numbers for machines")
    report.add_argument("--community", help=COMMUNITY_HELP)
    report.add_argument("--k", type=int, default=5, help="hide counts under k (default 5)")
    report.add_argument(
        "--k-moderation", type=int, default=11, help="the same for reports and moderation (11)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = parser_of_commands()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        if args.command == "check":
            return run_check(args.config, args.db)
        if args.command == "schema":
            shown = community_file_schema() if args.community else config_schema(platform_specs())
            print(json.dumps(shown, indent=2, ensure_ascii=False))
            return 0
        if args.command == "languages":
            return run_languages(args.write)
        if args.command == "report":
            return run_report(args)
        if args.command == "run":
            role = Role(args.platforms, args.discord_shard)
            return asyncio.run(run_platforms(args.config, args.db, Operations(args, "info"), role))
        if args.transcript:
            return asyncio.run(
                run_transcript_command(args.config, args.db, args.transcript, args.community)
            )
        operations = Operations(args, "warning")
        return asyncio.run(run_chat(args.config, args.db, operations, args.community))
    except ConcordError as exc:
        print(f"concord: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (``concord chat | head``): nothing is lost, all is stored.
        sys.stderr.close()
        return 0


def run_languages(write: Path | None) -> int:
    table = markdown_table(language_statuses(Catalogs.load([locales_dir()])))
    if write is None:
        print(table)
        return 0
    try:
        document = write.read_text(encoding="utf-8")
        write.write_text(replace_table(document, table), encoding="utf-8")
    except (OSError, ValueError) as exc:
        print(f"concord: cannot update the table in {write}: {exc}", file=sys.stderr)
        return 1
    return 0


def run_check(config_path: Path | None, db: str | None = None) -> int:
    config = load_config(config_path)
    catalogs, coc, dialogs = load_content(config)
    for other in config.communities[1:]:  # a deployment's: each community's content too
        load_content(other)
    for name, section in config.platforms.items():
        settings_module(name).parse(section, check_only=True)
    url = db or config.database_url
    if url is not None and not is_postgres_url(url):
        print(f"concord: --db {url!r}: not a postgresql:// URL", file=sys.stderr)
        return 1
    database = check_database(url) if url else None  # one line and exit 1 when it fails
    print(
        f"{config.source}: OK: {len(dialogs)} dialogs, {len(catalogs.available)} languages, "
        f"code of conduct version {coc.version} with {len(coc.sections)} sections"
        + (f"; {len(config.communities)} communities" if config.communities else "")
    )
    if database:
        print(database)
    return 0


def check_database(url: str) -> str:
    """What a PostgreSQL database is to Concord, read without writing; a StoreError
    (one line, exit 1) when Concord cannot use it."""
    from bot.store.postgres.check import describe

    return describe(url)


def run_report(args: argparse.Namespace) -> int:
    config = one_community(load_config(args.config), args.community)
    level = args.log_level or config.log_level or "info"
    configure_logging(level, args.log_format or config.log_format)
    database = args.db or config.database_url or config.database or default_database()
    if not is_postgres_url(str(database)) and not Path(database).is_file():
        raise UsageError(f"{database}: no such database")
    catalogs = Catalogs.load(list(config.locale_dirs))
    store = open_store(config, database)
    try:
        text = make_report(
            store,
            config.community_id,
            config.community_name,
            catalogs.translator(config.default_language),
            since=args.since,
            today=datetime.now(UTC).date(),
            as_machine=args.json,
            k=args.k,
            k_moderation=args.k_moderation,
        )
    finally:
        store.close()
    if args.out is None:
        sys.stdout.write(text)
    else:
        write_out(text, args.out)
    return 0


async def run_transcript_command(
    config_path: Path | None, db: Path | None, transcript: Path, community: str | None = None
) -> int:
    config = one_community(load_config(config_path), community)
    load_content(config)
    if not transcript.is_file():
        print(f"concord: {transcript}: no such file", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as scratch:
        database = db or Path(scratch) / "transcript.db"
        session = ConsoleSession(config, database, AdvancingClock(ManualClock(), fixed=True))
        try:
            passed, report = await run_transcript(session, transcript)
        finally:
            session.close()
    print(report, file=sys.stdout if passed else sys.stderr)
    return 0 if passed else 1


async def run_chat(
    config_path: Path | None, db: Path | None, operations: Operations, community: str | None = None
) -> int:
    config = one_community(load_config(config_path), community)
    database = db or config.database or default_database()
    observer = operations.start(config)
    session = ConsoleSession(
        config,
        database,
        AdvancingClock(SystemClock(), fixed=False),
        echo=echo,
        observer=observer,
    )
    print(f"Concord console: {config.community_name} (database: {database})")
    print("Type 'ana joins', 'ana> hello', 'ana #general> hi', 'ana> /help'; Ctrl-D ends.")
    loop = asyncio.get_running_loop()
    prompt = sys.stdin.isatty()  # at a terminal; piped input gets no prompts in its output
    try:
        await session.open(live=True)
        while True:
            if prompt:
                print("> ", end="", flush=True)
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line:
                return 0
            try:
                await session.feed(line)
            except ConsoleSyntaxError as exc:
                print(f"? {exc}")
    finally:
        session.close()
        operations.stop()


if __name__ == "__main__":
    sys.exit(main())
