"""A debit or credit once its system account's id is cached: on PostgreSQL the wallet's
guarded UPDATE, the transfer, its entries and the idempotency key's record are one statement
(``ledger/one_statement.py``); elsewhere the same calls take the statements one at a time.

Called as a transaction of its own (``partialpay.wallets``) with no receiver of
``wallet_debited`` / ``wallet_credited`` inside the transaction, that statement is the whole
transaction: the database commits it as it runs it, with no BEGIN and no COMMIT. Inside
another unit of work, or with such a receiver, it joins a transaction that stays open.

Every test warms the cache first (a committed credit and debit of each reason used), so
that what follows takes the one-statement path on PostgreSQL: a refusal there must write
nothing and say why, exactly as on the other path. On every backend.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from flask_partialpay.core.errors import IdempotencyConflict, InsufficientFunds, WalletLocked
from flask_partialpay.core.vocabulary import AccountKind
from flask_partialpay.db.base import utcnow
from flask_partialpay.db.records import IdempotencyRecord
from flask_partialpay.extension import PartialPay
from flask_partialpay.host import signals
from flask_partialpay.ledger import stored_routine, transfers
from flask_partialpay.ledger.models import Transfer
from tests.unit.bare import db
from tests.unit.test_ledger_round_trips import statements, verbs
from tests.unit.test_wallet_api import (
    USD,
    audit_problems,
    ledger_problems,
    ledger_snapshot,
    posted_minor,
    wallets,
)
from tests.unit.test_wallet_concurrency import THREADS, run_together, unexpected

OWNER = "one-statement"


def warm(owner: str = OWNER, funds: str = "100.00") -> None:
    """Fund ``owner`` and cache both system accounts' ids (each known once committed)."""
    wallets().credit(owner, funds, USD, reason="topup")
    wallets().debit(owner, "1.00", USD, reason="order_payment")
    wallets().credit(owner, "1.00", USD, reason="topup")
    state = PartialPay.state()
    assert state.system_accounts.get(AccountKind.TOPUPS, USD) is not None
    assert state.system_accounts.get(AccountKind.ORDER_PAYMENTS, USD) is not None
    db.session.remove()


def one_statement_used(sent: list[str]) -> bool:
    return "WITH" in verbs(sent)


def test_debits_and_credits_are_one_statement_on_postgresql(app: Flask, backend: str) -> None:
    warm()

    sent: dict[str, list[str]] = {}
    with statements() as sent["debit"]:
        debited = wallets().debit(OWNER, "2.50", USD, reason="order_payment", idempotency_key="d")
    db.session.remove()
    with statements() as sent["credit"]:
        credited = wallets().credit(OWNER, "4.00", USD, reason="topup", idempotency_key="c")
    db.session.remove()

    if backend == "postgresql":
        for operation, sent_for in sent.items():
            assert verbs(sent_for) == ["WITH"], (operation, sent_for)
    elif backend == "mariadb":
        # The procedure commits its own transaction: the connection's ROLLBACK after it
        # (the pool's reset, sent once) finds nothing left.
        for operation, sent_for in sent.items():
            assert verbs(sent_for) == ["CALL", "ROLLBACK"], (operation, sent_for)
    else:
        assert not any(one_statement_used(sent_for) for sent_for in sent.values()), sent
    assert (debited.amount, debited.reason, credited.amount) == (
        Decimal("2.50"),
        "order_payment",
        Decimal("4.00"),
    )
    # The transfers the calls returned are the rows written, and the keys point at them.
    for returned in (debited, credited):
        stored = db.session.get_one(Transfer, returned.id)
        assert (stored.from_account_id, stored.to_account_id, stored.amount_minor) == (
            returned.from_account_id,
            returned.to_account_id,
            returned.amount_minor,
        )
    records = dict(
        db.session.execute(sa.select(IdempotencyRecord.key, IdempotencyRecord.transfer_id)).all()
    )
    assert records == {"d": debited.id, "c": credited.id}
    # Replays return the originals and move nothing.
    before = ledger_snapshot()
    assert wallets().debit(OWNER, "2.50", USD, reason="order_payment", idempotency_key="d").id == (
        debited.id
    )
    assert wallets().credit(OWNER, "4.00", USD, reason="topup", idempotency_key="c").id == (
        credited.id
    )
    assert ledger_snapshot() == before
    assert wallets().balance(OWNER, USD) == Decimal("101.50")
    assert ledger_problems() == []
    assert audit_problems() == []


def test_a_refused_debit_writes_nothing_says_why_and_keeps_its_key_free(app: Flask) -> None:
    warm()
    before = ledger_snapshot()

    with statements() as sent, pytest.raises(InsufficientFunds) as refused:
        wallets().debit(OWNER, "100.01", USD, reason="order_payment", idempotency_key="k")

    assert refused.value.params["available"] == Decimal("100.00")
    assert refused.value.params["amount"] == Decimal("100.01")
    assert ledger_snapshot() == before
    if db.engine.dialect.name == "postgresql":
        assert one_statement_used(sent), sent
    # The same request succeeds once the money is there: the refusal used up no key.
    wallets().credit(OWNER, "0.01", USD, reason="topup")
    wallets().debit(OWNER, "100.01", USD, reason="order_payment", idempotency_key="k")
    assert posted_minor(OWNER) == 0
    assert ledger_problems() == []
    assert audit_problems() == []


def test_a_locked_wallet_refuses_the_debit_and_takes_the_credit(app: Flask) -> None:
    warm()
    wallets().set_locked(OWNER, USD, True, by="admin")
    before = ledger_snapshot()

    with pytest.raises(WalletLocked):
        wallets().debit(OWNER, "1.00", USD, reason="order_payment")

    assert ledger_snapshot() == before
    wallets().credit(OWNER, "1.00", USD, reason="topup")
    assert posted_minor(OWNER) == 10100
    assert ledger_problems() == []


def test_a_debit_refused_for_a_lapsed_holds_money_expires_it_and_succeeds(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    warm()
    lapsing = wallets().hold(OWNER, "60.00", USD, reference="l", expires_in=timedelta(minutes=5))
    later = utcnow() + timedelta(minutes=10)
    monkeypatch.setattr(transfers, "now", lambda: later)

    with statements() as sent:
        debited = wallets().debit(OWNER, "70.00", USD, reason="order_payment", idempotency_key="x")

    if db.engine.dialect.name == "postgresql":
        assert one_statement_used(sent), sent
    db.session.expire_all()
    assert db.session.get_one(type(lapsing), lapsing.id).status == "expired"
    record = db.session.scalars(sa.select(IdempotencyRecord).where(IdempotencyRecord.key == "x"))
    assert record.one().transfer_id == debited.id
    assert wallets().balance(OWNER, USD) == Decimal("30.00")
    assert ledger_problems() == []
    assert audit_problems() == []


def test_a_credit_to_a_wallet_never_opened_opens_it(app: Flask) -> None:
    warm()

    wallets().credit("newcomer", "3.00", USD, reason="topup", idempotency_key="first")

    assert wallets().balance("newcomer", USD) == Decimal("3.00")
    record = db.session.scalars(sa.select(IdempotencyRecord)).one()
    assert record.transfer_id is not None
    assert ledger_problems() == []
    assert audit_problems() == []


def test_parallel_debits_in_one_statement_never_spend_more_than_the_wallet_holds(
    app: Flask,
) -> None:
    warm(funds="5.00")  # 5.00 after warming: each debit 1.00, so exactly 5 succeed

    def debit(index: int) -> int:
        return (
            wallets()
            .debit(OWNER, "1.00", USD, reason="order_payment", idempotency_key=f"p{index}")
            .id
        )

    outcomes = run_together(app, THREADS, debit)

    assert unexpected(outcomes, InsufficientFunds) == []
    assert sum(1 for outcome in outcomes if outcome.error is None) == 5
    assert posted_minor(OWNER) == 0
    assert ledger_problems() == []
    assert audit_problems() == []


def test_parallel_replays_of_one_key_debit_once(app: Flask) -> None:
    warm()

    def debit(_index: int) -> int:
        return (
            wallets()
            .debit(OWNER, "3.00", USD, reason="order_payment", idempotency_key="one-key")
            .id
        )

    outcomes = run_together(app, THREADS, debit)

    assert unexpected(outcomes) == []
    assert len({outcome.value for outcome in outcomes}) == 1
    assert posted_minor(OWNER) == 9700
    assert db.session.scalar(sa.select(sa.func.count()).select_from(IdempotencyRecord)) == 1
    assert ledger_problems() == []
    assert audit_problems() == []


def test_a_key_of_another_request_is_refused_and_moves_nothing(app: Flask) -> None:
    warm()
    wallets().debit(OWNER, "2.00", USD, reason="order_payment", idempotency_key="taken")
    before = ledger_snapshot()

    with pytest.raises(IdempotencyConflict):
        wallets().debit(OWNER, "2.01", USD, reason="order_payment", idempotency_key="taken")
    with pytest.raises(IdempotencyConflict):
        wallets().credit(OWNER, "2.00", USD, reason="topup", idempotency_key="taken")

    assert ledger_snapshot() == before
    assert audit_problems() == []


def test_a_receiver_inside_the_transaction_gets_an_open_one_and_its_error_undoes_the_debit(
    app: Flask, backend: str
) -> None:
    warm()
    seen: list[bool] = []

    def receiver(_sender: Any, **_sent: Any) -> None:
        seen.append(db.session().in_transaction())
        raise RuntimeError("the host's receiver failed")

    before = ledger_snapshot()
    db.session.commit()  # the snapshot's reads: not part of what is counted
    signals.wallet_debited.connect(receiver, sender=app)  # this app's, as the mail's are
    try:
        with statements() as sent, pytest.raises(RuntimeError):
            wallets().debit(OWNER, "5.00", USD, reason="order_payment", idempotency_key="r")
    finally:
        signals.wallet_debited.disconnect(receiver)

    assert seen == [True]
    assert ledger_snapshot() == before
    assert db.session.scalar(sa.select(sa.func.count()).select_from(IdempotencyRecord)) == 0
    if backend == "postgresql":
        assert verbs(sent) == ["BEGIN", "INSERT", "WITH", "ROLLBACK"], sent


def test_a_debit_inside_another_unit_of_work_joins_its_transaction(app: Flask) -> None:
    warm()
    before = ledger_snapshot()

    def unit() -> None:
        wallets().debit(OWNER, "5.00", USD, reason="order_payment", idempotency_key="inner")
        raise RuntimeError("the rest of the unit failed")

    with pytest.raises(RuntimeError):
        PartialPay.state().transaction(unit)

    assert ledger_snapshot() == before
    assert db.session.scalar(sa.select(sa.func.count()).select_from(IdempotencyRecord)) == 0


def test_the_committed_twin_is_sent_once_after_a_debit_in_one_statement(app: Flask) -> None:
    warm()
    committed: list[tuple[int, bool]] = []

    def receiver(_sender: Any, **sent: Any) -> None:
        committed.append((sent["transfer"].amount_minor, db.session().in_transaction()))

    signals.wallet_debited.committed.connect(receiver)
    try:
        wallets().debit(OWNER, "4.00", USD, reason="order_payment", idempotency_key="t")
        wallets().debit(OWNER, "4.00", USD, reason="order_payment", idempotency_key="t")
    finally:
        signals.wallet_debited.committed.disconnect(receiver)

    # The replay moved nothing and tells nobody; the committed debit is told once, with no
    # transaction left open.
    assert committed == [(400, False)]
    assert posted_minor(OWNER) == 9600


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_the_connection_of_a_debit_in_one_statement_goes_back_to_the_pool_out_of_autocommit(
    app: Flask,
) -> None:
    """The statement runs on a connection of the pool's in autocommit mode: the next
    request that takes that connection must get a real transaction, one that a rollback
    undoes, not statements committed one by one."""
    warm()
    engine = db.engine
    returned: list[bool] = []

    def checkin(dbapi_connection: Any, _record: Any) -> None:
        returned.append(bool(dbapi_connection.autocommit))

    sa.event.listen(engine, "checkin", checkin)
    try:
        with statements() as sent:
            wallets().debit(OWNER, "1.00", USD, reason="order_payment", idempotency_key="p")
        db.session.remove()
    finally:
        sa.event.remove(engine, "checkin", checkin)

    assert verbs(sent) == ["WITH"], sent
    assert returned and not any(returned), returned
    # Every connection of the pool, the debit's among them, still rolls back.
    size = engine.pool.size()  # type: ignore[attr-defined]
    held = [engine.connect() for _ in range(size)]
    try:
        for connection in held:
            connection.execute(sa.delete(IdempotencyRecord))
            connection.rollback()
    finally:
        for connection in held:
            connection.close()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(IdempotencyRecord)) > 0


@pytest.mark.parametrize("backend", ["mariadb"], indirect=True)
def test_mariadb_without_the_procedure_sends_the_statements_one_at_a_time_and_says_why(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    warm()
    with db.engine.begin() as connection:
        stored_routine.uninstall(connection)  # as on a database the user could not create it in
    try:
        with statements() as first:
            wallets().debit(OWNER, "2.00", USD, reason="order_payment", idempotency_key="m1")
        with statements() as then:
            wallets().debit(OWNER, "3.00", USD, reason="order_payment", idempotency_key="m2")
    finally:
        with db.engine.begin() as connection:
            stored_routine.install(connection)  # as create_all does: the app asks again

    # The first call finds it missing and falls back; the app then stops asking.
    assert verbs(first)[0] == "CALL" and "CALL" not in verbs(first)[1:], first
    assert "CALL" not in verbs(then), then
    assert [r.getMessage() for r in caplog.records if stored_routine.NAME in r.getMessage()]
    assert posted_minor(OWNER) == 9500
    assert ledger_problems() == []
    assert audit_problems() == []
    with statements() as again:
        wallets().debit(OWNER, "1.00", USD, reason="order_payment", idempotency_key="m3")
    assert verbs(again) == ["CALL", "ROLLBACK"], again


@pytest.mark.parametrize("backend", ["mariadb"], indirect=True)
def test_an_app_on_a_mariadb_url_calls_the_procedure_as_one_on_a_mysql_url_does(
    app: Flask, database_url: str
) -> None:
    # SQLAlchemy names the dialect of a mariadb:// URL "mariadb", that of a mysql:// URL
    # "mysql" (which learns on connecting that the server is MariaDB).
    url = sa.make_url(database_url).set(drivername="mariadb+pymysql")
    host = Flask(__name__)
    host.config.update(
        TESTING=True,
        SECRET_KEY=app.config["SECRET_KEY"],
        SQLALCHEMY_DATABASE_URI=url.render_as_string(hide_password=False),
        PARTIALPAY_GATEWAYS=app.config["PARTIALPAY_GATEWAYS"],
    )
    db.init_app(host)
    PartialPay().init_app(host, db)
    with host.app_context():
        try:
            assert db.engine.dialect.name == "mariadb"
            warm()
            with statements() as sent:
                wallets().debit(OWNER, "2.50", USD, reason="order_payment", idempotency_key="u")
            assert verbs(sent) == ["CALL", "ROLLBACK"], sent
            assert posted_minor(OWNER) == 9750
            assert ledger_problems() == []
        finally:
            db.session.remove()
            db.engine.dispose()


@pytest.mark.parametrize("backend", ["mariadb"], indirect=True)
def test_a_mariadb_user_who_may_not_create_routines_gets_a_warning_not_an_error(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    user = "partialpay_no_routines"
    anywhere = "'%%'"  # the host part '%', escaped for PyMySQL's parameter formatting
    database = db.engine.url.database
    with db.engine.begin() as connection:
        stored_routine.uninstall(connection)
        connection.exec_driver_sql(f"DROP USER IF EXISTS '{user}'@{anywhere}")
        connection.exec_driver_sql(f"CREATE USER '{user}'@{anywhere}")
        # What the tables need, and no CREATE ROUTINE.
        connection.exec_driver_sql(
            "GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, INDEX, ALTER, REFERENCES"
            f" ON `{database}`.* TO '{user}'@{anywhere}"
        )
    restricted = sa.create_engine(db.engine.url.set(username=user, password=None))
    try:
        with restricted.begin() as connection:
            stored_routine.install(connection)
        with db.engine.connect() as connection:
            created = set(
                connection.scalars(
                    sa.text(
                        "SELECT routine_name FROM information_schema.routines"
                        " WHERE routine_schema = DATABASE()"
                    )
                )
            )
    finally:
        restricted.dispose()
        with db.engine.begin() as connection:
            connection.exec_driver_sql(f"DROP USER '{user}'@{anywhere}")
            stored_routine.install(connection)  # for the tests after this one

    assert [r for r in caplog.records if "was not created" in r.getMessage()]
    assert stored_routine.NAME not in created


def test_a_session_bound_to_a_connection_of_the_hosts_never_takes_the_commit_of_its_own(
    app: Flask, backend: str
) -> None:
    # The statement (the procedure) commits: a session the host bound to a connection in
    # a transaction of its own must have the movement join that transaction instead.
    warm()
    with db.engine.connect() as connection:
        bound = Session(bind=connection)
        assert transfers.one_statement_house(bound, "order_payment", USD) is None
    on_engine = transfers.one_statement_house(Session(bind=db.engine), "order_payment", USD)
    assert (on_engine is not None) == (backend != "sqlite")
