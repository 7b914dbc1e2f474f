"""The one error hierarchy of Concord."""

from __future__ import annotations


class ConcordError(Exception):
    """Root of every error Concord raises on purpose."""


class ConfigError(ConcordError):
    """A broken config, dialog, catalog or code of conduct.

    Always names the file, the line and the key so an admin can fix it at once.
    """

    def __init__(self, file: str, line: int, key: str, message: str) -> None:
        self.file = file
        self.line = line
        self.key = key
        self.message = message
        super().__init__(f"{file}:{line}: {key}: {message}")


class StoreError(ConcordError):
    """The database cannot be opened, migrated or written."""


class Conflict(StoreError):
    """Another commit took first what this one claimed (a case number): nothing of
    this commit was written, and the turn runs again on what is stored now."""


class StoreUnavailable(StoreError):
    """The database server went away (stopped, restarted, out of reach) while Concord
    runs: nothing of the operation that met it was committed unless the store says so
    (an event's inbox id), and it is retried with backoff until the server is back."""


class DeliveryError(ConcordError):
    """An adapter could not deliver an action; the action stays in the outbox."""


class Undeliverable(ConcordError):
    """No retry can deliver this action (a chat the bot may not write to, a user id
    that does not exist, a text the output cannot show). Adapters raise it rather than
    drop the action; the outbox sets the action aside as undeliverable with this
    reason, logs it and counts it, and goes on with the next."""


class UsageError(ConcordError):
    """A command-line value Concord cannot use (a period, a file it cannot write)."""
