"""The SQLite store's schema (version 1) and connection settings."""

from __future__ import annotations

import sqlite3

SCHEMA_VERSION = 1

PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA busy_timeout=5000",
    "PRAGMA foreign_keys=OFF",
    "PRAGMA temp_store=MEMORY",
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    doc TEXT NOT NULL,
    version INTEGER NOT NULL,
    created_at REAL NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS event_heads (
    session_id TEXT PRIMARY KEY,
    last_seq INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS events (
    session_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    at REAL NOT NULL,
    event TEXT NOT NULL,
    PRIMARY KEY (session_id, seq)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS routes (
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    session_id TEXT NOT NULL,
    expires_at REAL,
    PRIMARY KEY (kind, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS routes_by_session ON routes (session_id);
CREATE INDEX IF NOT EXISTS routes_by_expiry ON routes (expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE IF NOT EXISTS commands (
    session_id TEXT NOT NULL,
    command_id TEXT NOT NULL,
    answer TEXT,
    expires_at REAL NOT NULL,
    PRIMARY KEY (session_id, command_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS commands_by_expiry ON commands (expires_at);

CREATE TABLE IF NOT EXISTS dedupe (
    key TEXT PRIMARY KEY,
    expires_at REAL NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS dedupe_by_expiry ON dedupe (expires_at);

CREATE TABLE IF NOT EXISTS parked (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event TEXT NOT NULL,
    expires_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS parked_by_expiry ON parked (expires_at);

CREATE TABLE IF NOT EXISTS parked_keys (
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    parked_id INTEGER NOT NULL,
    PRIMARY KEY (kind, key, parked_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS parked_keys_by_id ON parked_keys (parked_id);

CREATE TABLE IF NOT EXISTS outbox (
    n INTEGER PRIMARY KEY AUTOINCREMENT,
    item_id TEXT NOT NULL UNIQUE,
    session_id TEXT NOT NULL,
    dialog_key TEXT NOT NULL,
    payload TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    not_before REAL NOT NULL,
    created_at REAL NOT NULL,
    lease_owner TEXT,
    lease_until REAL,
    last_error TEXT
);
CREATE INDEX IF NOT EXISTS outbox_by_dialog ON outbox (dialog_key, n);
CREATE INDEX IF NOT EXISTS outbox_by_session ON outbox (session_id, n);

CREATE TABLE IF NOT EXISTS activity (
    session_id TEXT PRIMARY KEY,
    at REAL NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS activity_by_time ON activity (at);

CREATE TABLE IF NOT EXISTS deadlines (
    session_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    at REAL NOT NULL,
    due REAL NOT NULL,
    PRIMARY KEY (session_id, kind)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS deadlines_by_due ON deadlines (due);

CREATE TABLE IF NOT EXISTS locks (
    name TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    expires_at REAL NOT NULL
) WITHOUT ROWID;
"""


def connect(path: str) -> sqlite3.Connection:
    """Open `path` (or ":memory:"), apply the pragmas and create the schema if needed."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=True)
    for pragma in PRAGMAS:
        conn.execute(pragma)
    conn.execute("BEGIN IMMEDIATE")
    try:
        (version,) = conn.execute("PRAGMA user_version").fetchone()
        if version > SCHEMA_VERSION:
            raise sqlite3.DatabaseError(
                f"store schema version {version} is newer than this connector's ({SCHEMA_VERSION})"
            )
        if version < SCHEMA_VERSION:
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        conn.close()
        raise
    return conn
