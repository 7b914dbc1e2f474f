"""Build a running Concord from a config: catalogs, code of conduct, dialogs, store."""

from __future__ import annotations

from pathlib import Path

import platformdirs

from bot.conduct.document import CodeOfConduct, load_coc
from bot.config.community import Config
from bot.core import resources
from bot.core.clock import Clock, SystemClock
from bot.core.errors import ConfigError
from bot.core.sealing import Sealer
from bot.dialogs.loader import DialogRules, load_dialogs
from bot.dialogs.model import Dialog
from bot.engine.engine import Engine
from bot.engine.turn import Services
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
    features = all_features()
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
    return catalogs, coc, dialogs


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
    (a SQLite file or a PostgreSQL URL; the config's, or the default file)."""
    catalogs, coc, dialogs = load_content(config)
    if store is None:
        store = open_store(config, database)
    services = Services(
        config=config,
        catalogs=catalogs,
        coc=coc,
        store=store,
        clock=clock or SystemClock(),
        languages=config.languages or tuple(catalogs.available),
        dialogs=dialogs,
        features=all_features(),
    )
    return Engine(services)
