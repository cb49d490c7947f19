"""``python -m bench``: measure the ledger against its baselines and write the table.

    python -m bench --databases sqlite,postgresql,mariadb --seconds 10 --clients 1,4,8,16

PostgreSQL and MariaDB are reached through ``PARTIALPAY_BENCH_POSTGRES_URL`` and
``PARTIALPAY_BENCH_MARIADB_URL`` (or ``--postgres-url`` / ``--mariadb-url``): databases of
their own, since every workload drops and creates the extension's tables there. A database
asked for without its URL is an error, not a silent skip. ``--quick`` is a smoke run (one
second per figure, one client, small ledgers) and writes no file unless ``--output`` says so.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import sqlite3
import sys
import tempfile
import time
import traceback
from pathlib import Path

from sqlalchemy import text

from bench import (
    baselines,
    breakdown,
    bulk,
    counting,
    cpu,
    harness,
    reads,
    shop_checkout,
    workloads,
)
from bench.baselines import (
    HOT_ROW_SCRIPT,
    PgBench,
    RawMariaDB,
    RawSQLite,
    raw_rate,
    sqlite_settings,
)
from bench.harness import Rate, measure
from bench.ledger_app import LedgerApp, make_ledger_app
from bench.report import FIGURES_HEADER, Figure, Results
from flask_partialpay.host.config import setting

DATABASES = ("sqlite", "postgresql", "mariadb")
URL_VARIABLES = {
    "postgresql": "PARTIALPAY_BENCH_POSTGRES_URL",
    "mariadb": "PARTIALPAY_BENCH_MARIADB_URL",
}
RESULTS_FILE = Path(__file__).with_name("RESULTS.md")
AUDITED_WALLET = "audited"
STATEMENT_WALLET = "statement"
SMALL_WALLET = "small"
SMALL_ENTRIES = 10
LARGE_ENTRIES = 1_000_000

HOW_MEASURED = f"""
- **Throughput** (ops/s): operations completed in the run's seconds by N clients, each in
  a process of its own (`multiprocessing`, started with `{harness.START_METHOD}`) as a
  shop's gunicorn workers are: in threads of one process, the GIL would cap any number
  of clients at one core's worth of Python. Each client process builds its own Flask app,
  engine and single connection (nothing inherited from the parent, which `spawn`
  guarantees and `fork` would not: SQLite connections and pooled sockets must not cross a
  fork), connects and warms up with one operation that is not counted (a new process
  compiles its statements once; a shop's long-lived workers have long since done so),
  says it is ready, and waits until all are; then each runs until its own clock
  says the seconds are over and reports its operations, errors and first error. The rate
  is all operations over the longest client's time. An operation that raised is counted
  as an error, not as done (none unless the table says so). The ledger's operations go
  through the public API of a bare Flask app (Flask-SQLAlchemy + `PartialPay`, bank
  transfer only, as `tests/unit`), on tables dropped and created for the run:
  `partialpay.wallets.debit(owner, "1.00", "USD", reason="order_payment",
  idempotency_key=...)` with a new key per debit. (The first run, 2026-12-03, ran its
  clients as threads of one process.)
- **debits spread, N clients**: each client debits its own {workloads.WALLETS_PER_CLIENT}
  wallets in turn (no two clients on one row). **hot wallet**: every client debits the
  same wallet. **hold+capture**: `wallets.hold(...)` with an idempotency key, then
  `wallets.capture(hold.id)`: one operation is both (two transactions).
- **Baselines**, same run, same server. PostgreSQL: `pgbench -n -c N -j min(N, CPUs) -T s`
  (C, a connection per client) in a database of its own beside the ledger's (its name +
  `_pgbench`, `pgbench -i -s 1`): `-b tpcb-like` (3 one-row UPDATEs, a SELECT, an INSERT;
  at scale 1 all clients update the one branch row), and for the hot wallet the script
  below (one UPDATE of one row + one INSERT, all clients on that row); hold+capture is
  compared with tpcb-like at 1 client. SQLite and MariaDB: the same one-row UPDATE +
  INSERT per transaction through the raw driver (`sqlite3`, PyMySQL), with client
  processes started and timed as the ledger's, spread (each client its own rows) or hot
  (one row). SQLite: on a file of its own, in the journal mode and `synchronous` level
  read back from one of the ledger's own connections (`PRAGMA journal_mode`, `PRAGMA
  synchronous`: shown in the header and in the baseline's name), `BEGIN IMMEDIATE` (its
  first statement writes anyway), and a busy timeout of {baselines.SQLITE_BUSY_SECONDS:g} s,
  so that a client waits for the write lock instead of failing with "database is locked"
  (the ledger retries a locked database; the first run's raw loop, on the driver's 5 s,
  counted such failures). A ratio is figure /
  baseline: for throughput, the share of the baseline the ledger reaches; for times, how
  many times longer.
- **checkout over HTTP**: {" ".join(shop_checkout.__doc__.split(chr(10), 2)[2].split())}
- **Statement pages**: median time of `wallets.statement(owner, "USD", before=cursor)`
  (each read a request of its own), the cursor of page p found once before the timing, on a
  wallet whose lines were bulk-loaded: not through the API but with `COPY` (PostgreSQL) or
  `executemany` of the rows the API writes (a transfer of one minor unit from the
  top-ups account, its two entries with a correct balance chain, the accounts' cached
  balances), so that the audit still passes. Baseline: page 1.
- **Balance**: median time of `wallets.balance(owner, "USD")` (each read a request of its
  own) on the statement's wallet, against a wallet of {SMALL_ENTRIES} entries.
- **Audit**: `audit.run_audit` in one `audit.snapshot`, as `flask partialpay audit`, over
  a ledger of that many entries (bulk-loaded as above; the number of violations found is
  printed and must be 0). Baseline: one raw `SELECT COUNT(*), SUM(amount_minor)` over the
  entries table. Peak memory: Python's allocations during a second run (`tracemalloc`),
  not the process's RSS.
- {cpu.HOW_CPU}
- **SQL statements per operation**: {counting.HOW_COUNTED}
- **Where a debit's time goes**: {breakdown.HOW_SPLIT}

pgbench's hot-row script:

```
{HOT_ROW_SCRIPT}```
"""


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--databases", default=",".join(DATABASES))
    parser.add_argument("--seconds", type=float, default=10.0, help="per throughput figure")
    parser.add_argument("--clients", default="1,4,8,16", help="client counts of spread debits")
    parser.add_argument("--hot-clients", type=int, default=8)
    parser.add_argument(
        "--http-clients", default="1,8", help="client counts of the shop's checkout; '' for none"
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: 1 s, 1 client, small")
    parser.add_argument(
        "--large", action="store_true", help=f"also the audit at {LARGE_ENTRIES:,} entries "
        f"and a {LARGE_ENTRIES:,}-entry statement (bulk-loaded: minutes)",
    )  # fmt: skip
    parser.add_argument("--postgres-url", default=os.environ.get(URL_VARIABLES["postgresql"]))
    parser.add_argument("--mariadb-url", default=os.environ.get(URL_VARIABLES["mariadb"]))
    parser.add_argument("--output", type=Path, default=None, help=f"default: {RESULTS_FILE}")
    options = parser.parse_args(argv)
    options.databases = [name.strip() for name in options.databases.split(",") if name.strip()]
    unknown = set(options.databases) - set(DATABASES)
    if unknown:
        parser.error(f"unknown databases {sorted(unknown)}; choose from {DATABASES}")
    options.clients = [int(number) for number in options.clients.split(",")]
    options.http_clients = [int(n) for n in options.http_clients.split(",") if n.strip()]
    options.audit_entries = 10_000
    options.deep_page = 10_000
    if options.quick:
        options.seconds = 1.0
        options.clients = [1]
        options.hot_clients = 1
        options.http_clients = options.http_clients[:1] and [1]
        options.audit_entries = 1_000
        options.deep_page = 50
    elif options.output is None:
        options.output = RESULTS_FILE
    for name, variable in URL_VARIABLES.items():
        url = options.postgres_url if name == "postgresql" else options.mariadb_url
        if name in options.databases and not url:
            parser.error(
                f"{name} needs a database of its own: set {variable} (its tables are dropped) "
                f"or leave it out with --databases"
            )
    return options


def progress(message: str) -> None:
    print(f"  [{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def plural(clients: int) -> str:
    return "client" if clients == 1 else "clients"


def throughput(
    results: Results, database: str, name: str, rate: Rate, baseline_name: str, baseline: Rate
) -> None:
    notes = []
    for label, measured in (("", rate), ("baseline: ", baseline)):
        if measured.errors:
            notes.append(f"{label}{measured.errors} errors")
            results.notes.append(
                f"{database}, {name}: {label}{measured.errors} failed operations, the first: "
                f"{measured.first_error}"
            )
    results.add(
        Figure(
            database, name, rate.per_second, "ops/s", baseline_name, baseline.per_second,
            "; ".join(notes), cpu=rate.cpu, baseline_cpu=baseline.cpu,
        )
    )  # fmt: skip


def server_version(ledger: LedgerApp) -> str:
    engine = ledger.engine
    if engine.dialect.name == "sqlite":
        return f"SQLite {sqlite3.sqlite_version} ({sqlite_settings(ledger).describe()})"
    with engine.connect() as connection:
        version = str(connection.execute(text("SELECT VERSION()")).scalar())
    return version.split(" on ")[0].split(",")[0]


def bench_writes(
    results: Results, database: str, url: str, ledger: LedgerApp, options: argparse.Namespace,
    scratch: Path,
) -> None:  # fmt: skip
    seconds = options.seconds
    raw: RawSQLite | RawMariaDB | None = None
    pgbench: PgBench | None = None
    if database == "postgresql":
        pgbench = PgBench(url)
        pgbench.initialise()
    elif database == "sqlite":
        raw = RawSQLite(scratch / "raw.sqlite", sqlite_settings(ledger))
    else:
        raw = RawMariaDB(url)

    measured: dict[tuple[int, bool], tuple[str, Rate]] = {}

    def baseline(clients: int, *, hot: bool) -> tuple[str, Rate]:
        # Measured once per run: hold+capture is compared with the 1-client spread one.
        if (clients, hot) not in measured:
            progress(f"{database}: baseline, {clients} {plural(clients)}, hot={hot}")
            measured[clients, hot] = measure_baseline(clients, hot=hot)
        return measured[clients, hot]

    def measure_baseline(clients: int, *, hot: bool) -> tuple[str, Rate]:
        if pgbench is not None:
            if hot:
                return f"pgbench hot row, {clients} cl.", pgbench.tps(
                    clients, seconds, script=HOT_ROW_SCRIPT
                )
            return f"pgbench tpcb-like, {clients} cl.", pgbench.tps(clients, seconds)
        assert raw is not None
        kind = "hot row" if hot else "spread"
        return f"{raw.name} {kind}, {clients} cl.", raw_rate(raw, clients, seconds, hot=hot)

    ledger.fresh_tables()
    results.counts[database] = counting.statements_per_operation(ledger)
    workloads.fund_spread(ledger, max(options.clients))
    workloads.fund(ledger, [workloads.HOT_WALLET, workloads.HOLD_WALLET])
    for clients in options.clients:
        name, base = baseline(clients, hot=False)
        progress(f"{database}: debits spread, {clients} {plural(clients)}")
        rate = measure(workloads.spread_debits(ledger), clients, seconds)
        throughput(
            results, database, f"debits spread, {clients} {plural(clients)}", rate, name, base
        )
    name, base = baseline(options.hot_clients, hot=True)
    rate = measure(workloads.hot_debits(ledger), options.hot_clients, seconds)
    throughput(
        results,
        database,
        f"hot wallet, {options.hot_clients} {plural(options.hot_clients)}",
        rate,
        name,
        base,
    )
    name, base = baseline(1, hot=False)
    rate = measure(workloads.hold_and_capture(ledger), 1, seconds)
    throughput(results, database, "hold+capture, 1 client", rate, name, base)
    # After the throughput figures: its timing hooks must slow none of them.
    progress(f"{database}: where a debit's time goes (timed runs)")
    compared = pgbench if pgbench is not None else raw
    assert compared is not None
    results.breakdowns[database] = breakdown.measure(
        database, url, compared, min(breakdown.SECONDS, seconds)
    )
    if isinstance(raw, RawMariaDB):
        raw.drop()


def audit_figures(results: Results, database: str, ledger: LedgerApp, entries: int) -> None:
    # The audited wallet's lines make two entries each (the wallet's and the top-ups').
    bulk.grow_wallet(ledger, AUDITED_WALLET, entries // 2 - bulk.total_entries(ledger) // 2)
    run = reads.run_audit(ledger)
    scan = reads.scan_entries(ledger)
    name = f"audit, {run.entries:,} entries"
    note = f"{run.violations} violations" if run.violations else ""
    results.add(
        Figure(database, name, run.seconds * 1000, "ms", "raw scan of entries", scan * 1000, note)
    )
    results.add(Figure(database, f"{name}: peak memory", run.peak_bytes / 2**20, "MiB"))
    if run.violations:
        results.notes.append(f"{database}: the audit found {run.violations} violations")


def statement_figures(
    results: Results, database: str, ledger: LedgerApp, lines: int, deep_page: int
) -> None:
    bulk.grow_wallet(
        ledger, STATEMENT_WALLET, lines - bulk.wallet_entries(ledger, STATEMENT_WALLET)
    )
    budget = min(results.seconds, 3.0)
    first = reads.statement_page(ledger, STATEMENT_WALLET, 1, budget) * 1000
    deep = reads.statement_page(ledger, STATEMENT_WALLET, deep_page, budget) * 1000
    results.add(Figure(database, f"statement page 1, {lines:,}-entry wallet", first, "ms"))
    results.add(
        Figure(
            database, f"statement page {deep_page:,}, {lines:,}-entry wallet", deep, "ms",
            "page 1", first,
        )
    )  # fmt: skip


def balance_figures(results: Results, database: str, ledger: LedgerApp) -> None:
    """``wallets.balance`` of a wallet of a few entries, and of the statement's (the biggest
    wallet built): the read must not grow with the wallet's entries."""
    lines = bulk.wallet_entries(ledger, STATEMENT_WALLET)
    bulk.grow_wallet(ledger, SMALL_WALLET, SMALL_ENTRIES)
    budget = min(results.seconds, 3.0)
    small = reads.balance_read(ledger, SMALL_WALLET, budget) * 1000
    big = reads.balance_read(ledger, STATEMENT_WALLET, budget) * 1000
    results.add(Figure(database, f"balance, {SMALL_ENTRIES}-entry wallet", small, "ms"))
    results.add(
        Figure(
            database, f"balance, {lines:,}-entry wallet", big, "ms",
            f"{SMALL_ENTRIES}-entry wallet", small,
        )
    )  # fmt: skip


def bench_reads(
    results: Results, database: str, ledger: LedgerApp, options: argparse.Namespace
) -> None:
    progress(f"{database}: loading entries, audit, statement pages")
    ledger.fresh_tables()
    audit_figures(results, database, ledger, options.audit_entries)
    if options.large:
        audit_figures(results, database, ledger, LARGE_ENTRIES)
    with ledger.app.app_context():
        page_size = int(setting("STATEMENT_PAGE_SIZE"))
    statement_figures(results, database, ledger, options.deep_page * page_size, options.deep_page)
    if options.large:
        statement_figures(results, database, ledger, LARGE_ENTRIES, options.deep_page)
    balance_figures(results, database, ledger)


def bench_http(
    results: Results, database: str, url: str, options: argparse.Namespace, scratch: Path
) -> None:
    progress(f"{database}: the example shop under gunicorn")
    found = shop_checkout.measure_checkouts(
        url, scratch / f"shop-{database}", options.http_clients, options.seconds
    )
    for clients, rate, baseline, paid in found:
        name = f"checkout over HTTP (gunicorn), {clients} {plural(clients)}"
        throughput(results, database, name, rate, f"GET /login, {clients} cl.", baseline)
        if paid != rate.operations:
            results.notes.append(
                f"{database}, {name}: {rate.operations} checkouts counted but {paid} orders "
                "paid with a captured wallet part"
            )


def main(argv: list[str]) -> int:
    options = parse(argv)
    results = Results(
        command=" ".join(["python -m bench", shlex.join(argv)]).strip(), seconds=options.seconds
    )
    print(FIGURES_HEADER)
    scratch = Path(tempfile.mkdtemp(prefix="partialpay-bench-"))
    failed = False
    try:
        for database in options.databases:
            url = {
                "sqlite": f"sqlite:///{scratch / 'ledger.sqlite'}",
                "postgresql": options.postgres_url,
                "mariadb": options.mariadb_url,
            }[database]
            ledger = make_ledger_app(url, connections=max([*options.clients, options.hot_clients]))
            try:
                results.servers[database] = server_version(ledger)
                bench_writes(results, database, url, ledger, options, scratch)
                bench_reads(results, database, ledger, options)
                ledger.dispose()
                if options.http_clients:
                    bench_http(results, database, url, options, scratch)
            except Exception as error:
                # The other databases are still measured; the failure is in the results.
                failed = True
                results.notes.append(f"{database}: the run failed: {type(error).__name__}: {error}")
                traceback.print_exc()
            finally:
                ledger.dispose()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if not options.large:
        results.notes.append(
            f"Not measured in this run: the audit and the statement at {LARGE_ENTRIES:,} "
            "entries (`--large`)."
        )
    print("\n## Goals\n")
    print(results.goals_table())
    print("\n## SQL statements per operation\n")
    print(results.counts_table())
    print(results.counts_details())
    print("\n## Where a debit's time goes\n")
    print(results.breakdown_tables())
    if options.output is not None:
        options.output.write_text(results.markdown(HOW_MEASURED))
        print(f"\nwritten to {options.output}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
