"""The benchmark suite of the ledger (issue 15): ``python -m bench`` or ``make bench``.

Not part of the package and not run by the test suite: it measures how fast the wallet API
moves money on SQLite, PostgreSQL and MariaDB, each figure beside a baseline measured in the
same run on the same database (pgbench, or a raw driver loop doing the same one-row update
and insert), and how many SQL statements each operation sends. ``bench/RESULTS.md`` holds
the last full run.

Modules: :mod:`.harness` (clients in processes, timing), :mod:`.baselines` (pgbench, raw
sqlite3 and PyMySQL loops), :mod:`.ledger_app` (a bare Flask app with the extension),
:mod:`.workloads` (debits, holds and captures through the public API), :mod:`.counting`
(statements per operation), :mod:`.bulk` (entries loaded without the API), :mod:`.reads`
(statement pages and the audit), :mod:`.report` (the table) and :mod:`.__main__` (options).
"""
