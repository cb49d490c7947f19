"""The database layer: the declarative base, transactions and retries, shared records.

Owns the base model and metadata every table of the extension is declared on
(:mod:`.base`), running work in a transaction that retries deadlocks and serialisation
failures (:mod:`.transactions`), the idempotency and store-setting tables
(:mod:`.records`), the admin settings stored in the database (:mod:`.store_settings`),
lists shown a page at a time (:mod:`.paging`) and SQLite's journal mode and sync level
(:mod:`.sqlite_pragmas`). It imports only :mod:`flask_partialpay.core`.
"""
