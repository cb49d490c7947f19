"""SQLite's journal mode and sync level, set on every connection of the app's engine.

SQLite's defaults (a rollback journal, ``synchronous=FULL``) make each commit write and
sync the database and its journal, and a writer blocks every reader. In WAL mode a commit
appends to the write-ahead log, readers keep reading the last committed state while one
writer writes, and with ``synchronous=NORMAL`` the log is synced at checkpoints rather than
at every commit. A commit is still atomic and survives the application crashing; only an
operating system crash or a power cut may lose the last transactions committed before it
(never corrupt the file, never keep half of one). The settings reference of the
documentation (docs/settings.rst) says how to choose ``FULL`` where that is not acceptable.

Applied only to SQLite databases in a file: an in-memory database has no journal to put in
WAL mode, and nothing to sync.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.engine import URL

#: Journal modes a host may choose. MEMORY and OFF are not among them: with either, a
#: crash in the middle of a commit can leave half a transfer in the file.
JOURNAL_MODES = ("WAL", "DELETE", "TRUNCATE", "PERSIST")
#: Sync levels a host may choose. OFF is not among them: an OS crash could corrupt the file.
SYNCHRONOUS_LEVELS = ("NORMAL", "FULL", "EXTRA")


@dataclass(frozen=True)
class SqlitePragmas:
    """What to set on each new connection; ``None`` leaves the database's own setting."""

    journal_mode: str | None
    synchronous: str | None

    def statements(self) -> list[str]:
        # PRAGMA takes no bound parameters; the values were checked against the choices
        # above at init_app, so they are SQLite keywords, never text from outside.
        found = []
        if self.journal_mode is not None:
            found.append(f"PRAGMA journal_mode={self.journal_mode}")
        if self.synchronous is not None:
            found.append(f"PRAGMA synchronous={self.synchronous}")
        return found


def is_file_database(url: URL) -> bool:
    """Whether a SQLite URL names a database in a file (not ``:memory:`` or a memory URI)."""
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file::memory:"):
        return False
    return url.query.get("mode") != "memory"


def apply_to(engine: Engine, pragmas: SqlitePragmas) -> None:
    """Set ``pragmas`` on every connection ``engine`` opens from now on.

    Connections the engine's pool already holds (the host used the database before
    registering the extension) are closed, so that none is handed out without them.
    """
    statements = pragmas.statements()
    if engine.dialect.name != "sqlite" or not is_file_database(engine.url) or not statements:
        return

    def set_pragmas(dbapi_connection: Any, _record: object) -> None:
        cursor = dbapi_connection.cursor()
        try:
            for statement in statements:
                cursor.execute(statement)
        finally:
            cursor.close()

    event.listen(engine, "connect", set_pragmas)
    # The listener is on the pool, which dispose() replaces by a copy with its listeners.
    engine.dispose()
