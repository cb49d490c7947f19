"""The admin Settings tab, driven over HTTP: the switches, saving them, CSRF and guards."""

from __future__ import annotations

import html
import re
from typing import Any

import sqlalchemy as sa
from flask import Flask

from example_shop.models import User, db
from flask_partialpay.db import store_settings
from flask_partialpay.db.records import StoreSetting
from tests.conftest import Shopper, csrf_from

SETTINGS = "/partialpay/admin/settings"
PARTIAL = store_settings.WALLET_PARTIAL_PAYMENT
AUTO = store_settings.WALLET_AUTO_DEDUCT
REMOVABLE = store_settings.WALLET_AUTO_DEDUCT_REMOVABLE
DEFAULTS = {PARTIAL: True, AUTO: False, REMOVABLE: True}


# -- helpers ------------------------------------------------------------------------------


def text(response: Any) -> str:
    return html.unescape(response.get_data(as_text=True))


def stored() -> dict[str, bool]:
    """The switches as the next checkout will read them."""
    db.session.expire_all()
    return store_settings.current(db.session())


def rows() -> dict[str, StoreSetting]:
    db.session.expire_all()
    return {row.name: row for row in db.session.scalars(sa.select(StoreSetting))}


def checkbox(page: str, name: str) -> str:
    match = re.search(rf'<input[^>]*\bname="{name}"[^>]*>', page)
    assert match, f"no checkbox {name}"
    tag = match.group(0)
    assert 'type="checkbox"' in tag, tag
    return tag


def shown(page: str) -> dict[str, bool]:
    """Which checkboxes the page shows ticked."""
    return {name: bool(re.search(r"\bchecked\b", checkbox(page, name))) for name in DEFAULTS}


def save(admin: Shopper, ticked: dict[str, bool]) -> Any:
    """Tick the given boxes (the browser sends "y" for a ticked box, nothing otherwise)."""
    data = {name: "y" for name, on in ticked.items() if on}
    return admin.post_form(SETTINGS, SETTINGS, data)


def admin_id() -> str:
    user = db.session.scalars(sa.select(User).where(User.email == "admin@example.com")).one()
    return str(user.get_id())


# -- tests --------------------------------------------------------------------------------


def test_the_page_shows_the_defaults_with_labels_and_hints(admin: Shopper) -> None:
    response = admin.get(SETTINGS)
    assert response.status_code == 200
    page = text(response)
    assert shown(page) == DEFAULTS
    assert "Save settings" in page
    for switch in store_settings.SWITCHES:
        tag = checkbox(page, switch.name)
        assert f'id="{switch.name}"' in tag
        assert f'aria-describedby="{switch.name}-hint"' in tag
        assert re.search(rf'<label[^>]*for="{switch.name}"[^>]*>{re.escape(switch.label)}<', page)
        assert re.search(rf'id="{switch.name}-hint"[^>]*>{re.escape(switch.hint)}<', page)
    assert rows() == {}


def test_the_admin_turns_auto_deduct_on_and_the_page_shows_it(admin: Shopper) -> None:
    response = save(admin, {**DEFAULTS, AUTO: True})
    assert response.status_code == 302
    assert response.location == SETTINGS
    assert stored() == {PARTIAL: True, AUTO: True, REMOVABLE: True}
    page = text(admin.get(SETTINGS))
    assert "Settings saved." in page
    assert shown(page) == {PARTIAL: True, AUTO: True, REMOVABLE: True}
    # Only the switch that changed was written.
    assert set(rows()) == {AUTO}


def test_the_admin_turns_a_switch_off_again(admin: Shopper) -> None:
    assert save(admin, {**DEFAULTS, AUTO: True}).status_code == 302
    assert stored()[AUTO] is True
    assert save(admin, DEFAULTS).status_code == 302
    assert stored() == DEFAULTS
    page = text(admin.get(SETTINGS))
    assert "Settings saved." in page
    assert shown(page) == DEFAULTS


def test_an_unticked_checkbox_sends_nothing_and_reads_as_off(admin: Shopper) -> None:
    # Only the CSRF token is posted: every box unticked.
    response = save(admin, {})
    assert response.status_code == 302
    assert stored() == {PARTIAL: False, AUTO: False, REMOVABLE: False}
    assert shown(text(admin.get(SETTINGS))) == {PARTIAL: False, AUTO: False, REMOVABLE: False}


def test_saving_the_same_values_changes_nothing(admin: Shopper) -> None:
    response = save(admin, DEFAULTS)
    assert response.status_code == 302
    page = text(admin.get(SETTINGS))
    assert "Nothing changed." in page
    assert "Settings saved." not in page
    assert rows() == {}
    assert stored() == DEFAULTS


def test_the_stored_row_names_the_admin_who_changed_it(admin: Shopper) -> None:
    assert save(admin, {**DEFAULTS, AUTO: True, REMOVABLE: False}).status_code == 302
    written = rows()
    assert set(written) == {AUTO, REMOVABLE}
    assert {row.updated_by for row in written.values()} == {admin_id()}


def test_a_post_without_its_csrf_token_is_refused(admin: Shopper) -> None:
    response = admin.client.post(SETTINGS, data={AUTO: "y", PARTIAL: "y", REMOVABLE: "y"})
    assert response.status_code == 400
    wrong = admin.client.post(
        SETTINGS, data={"csrf_token": "not-the-token", AUTO: "y", PARTIAL: "y"}
    )
    assert wrong.status_code == 400
    assert stored() == DEFAULTS
    assert rows() == {}


def test_the_settings_page_is_forbidden_to_shoppers(shopper: Shopper) -> None:
    assert shopper.get(SETTINGS).status_code == 403
    token = csrf_from(shopper.get("/partialpay/wallet").get_data(as_text=True))
    response = shopper.client.post(SETTINGS, data={"csrf_token": token, AUTO: "y"})
    assert response.status_code == 403
    assert stored() == DEFAULTS
    assert rows() == {}


def test_anonymous_visitors_are_sent_to_sign_in(app: Flask) -> None:
    visitor = app.test_client()
    response = visitor.get(SETTINGS)
    assert response.status_code == 302
    assert response.location.startswith("/login")
    token = csrf_from(visitor.get("/login").get_data(as_text=True))
    posted = visitor.post(SETTINGS, data={"csrf_token": token, AUTO: "y"})
    assert posted.status_code == 302
    assert posted.location.startswith("/login")
    assert stored() == DEFAULTS


def test_a_transaction_reads_the_switches_once_and_again_after_changing_them(
    app: Flask,
) -> None:
    """A cart page asks for the switches several times in its one transaction: one query.
    A change made in the transaction is read again; one another request committed is read
    by the next transaction."""
    session = db.session()
    reads: list[str] = []

    def executed(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "partialpay_setting" in statement.lower() and statement.lstrip().upper().startswith(
            "SELECT"
        ):
            reads.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", executed)
    try:
        session.commit()
        assert [store_settings.current(session) for _ in range(3)] == [DEFAULTS] * 3
        assert len(reads) == 1
        store_settings.change(session, {AUTO: True}, by=None)
        assert store_settings.current(session) == {**DEFAULTS, AUTO: True}
        assert store_settings.current(session) == {**DEFAULTS, AUTO: True}
        # change() compared with the values already read; the write made them stale.
        assert len(reads) == 2
        session.commit()
        with db.engine.begin() as other:
            other.execute(
                sa.update(StoreSetting).where(StoreSetting.name == AUTO).values(value="0")
            )
        assert store_settings.current(session) == DEFAULTS
        assert len(reads) == 3
        # What a caller does to the dict it got is not what the next caller reads.
        store_settings.current(session)[AUTO] = True
        assert store_settings.current(session) == DEFAULTS
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", executed)
        session.rollback()
