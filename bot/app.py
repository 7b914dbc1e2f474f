"""Build a running Concord from a config: catalogs, code of conduct, dialogs, store."""

from __future__ import annotations

from pathlib import Path

import platformdirs

from bot.conduct.document import CodeOfConduct, load_coc
from bot.config.community import Config, community_configs
from bot.core import resources
from bot.core.clock import Clock, SystemClock
from bot.core.errors import ConfigError
from bot.core.sealing import Sealer
from bot.dialogs.loader import DialogRules, load_dialogs
from bot.dialogs.model import Dialog
from bot.engine.engine import Engine
from bot.engine.turn import Features, Services
from bot.features import all_features
from bot.i18n.catalogs import Catalogs
from bot.store.postgres import is_postgres_url
from bot.store.protocol import ServiceStore
from bot.store.sqlite import SQLiteStore

REQUIRED_DIALOGS = ("onboarding", "coc", "language", "checkin", "reacknowledge")


def default_database() -> Path:
    return Path(platformdirs.user_data_dir("concord", appauthor=False)) / "concord.db"


def load_content(config: Config) -> tuple[Catalogs, CodeOfConduct, dict[str, Dialog]]:
    """Everything an admin can break, loaded and validated before anything starts."""
    catalogs = Catalogs.load(list(config.locale_dirs))
    catalogs.validate()
    coc = load_coc(config.code_of_conduct)
    return catalogs, coc, load_dialogs_for(catalogs, all_features())


def load_dialogs_for(catalogs: Catalogs, features: Features) -> dict[str, Dialog]:
    """The shipped dialogs, checked against the catalogs and the features' actions."""
    rules = DialogRules(
        catalogs.message_ids("en"),
        set(features.actions),
        set(features.choice_sources),
        features.results(),
    )
    dialogs = load_dialogs(sorted(resources.dialogs_dir().glob("*.yaml")), rules)
    for required in REQUIRED_DIALOGS:
        if required not in dialogs:
            folder = resources.dialogs_dir()
            raise ConfigError(str(folder), 1, required, "this dialog is missing")
    return dialogs


def open_store(config: Config, database: Path | str | None = None) -> ServiceStore:
    """The store of ``database`` (``--db``), else the config's, else the default SQLite
    file. psycopg is imported only for a PostgreSQL URL."""
    target = database or config.database_url or config.database or default_database()
    sealer = Sealer(config.privacy.encryption_key)
    if is_postgres_url(target):
        from bot.store.postgres.store import PostgresStore

        # Adapters keep their own files (Matrix's crypto store) in the data folder.
        return PostgresStore(str(target), path=default_database(), sealer=sealer)
    return SQLiteStore(target, durable=config.durability == "strict", sealer=sealer)


def build_engine(
    config: Config,
    database: Path | str | None = None,
    clock: Clock | None = None,
    store: ServiceStore | None = None,
) -> Engine:
    """The engine with every feature, on ``store`` or else the database ``database``
    (a SQLite file or a PostgreSQL URL; the config's, or the default file). For a
    deployment of many communities, the first community's: see ``build_engines``."""
    return build_engines(config, database, clock, store)[0]


def build_engines(
    config: Config,
    database: Path | str | None = None,
    clock: Clock | None = None,
    store: ServiceStore | None = None,
) -> list[Engine]:
    """One engine per community the config serves, on one store. What communities have
    in common is loaded once: catalogs (per set of catalog folders), each code of
    conduct file, the dialogs and the features; and the engines share one outbox, one
    timer loop and one cache of live conversations."""
    content = _Content()
    store = store if store is not None else open_store(config, database)
    clock = clock or SystemClock()
    engines: list[Engine] = []
    for community in community_configs(config):
        catalogs, coc, dialogs = content.load(community)
        services = Services(
            config=community,
            catalogs=catalogs,
            coc=coc,
            store=store,
            clock=clock,
            languages=community.languages or tuple(catalogs.available),
            dialogs=dialogs,
            features=content.features,
            capabilities=engines[0].services.capabilities if engines else {},
        )
        engines.append(Engine(services, peers=engines[0] if engines else None))
    return engines


class _Content:
    """What communities share, each loaded once and validated."""

    def __init__(self) -> None:
        self.features = all_features()
        self._catalogs: dict[tuple[Path, ...], Catalogs] = {}
        self._cocs: dict[Path, CodeOfConduct] = {}
        self._dialogs: dict[str, Dialog] | None = None

    def load(self, config: Config) -> tuple[Catalogs, CodeOfConduct, dict[str, Dialog]]:
        catalogs = self._catalogs.get(config.locale_dirs)
        if catalogs is None:
            catalogs = self._catalogs[config.locale_dirs] = Catalogs.load(list(config.locale_dirs))
            catalogs.validate()
        coc = self._cocs.get(config.code_of_conduct)
        if coc is None:
            coc = self._cocs[config.code_of_conduct] = load_coc(config.code_of_conduct)
        if self._dialogs is None:
            self._dialogs = load_dialogs_for(catalogs, self.features)
        return catalogs, coc, self._dialogs
