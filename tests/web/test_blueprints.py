"""The extension's blueprints are made for each app: two apps in one process share none.

A blueprint made once at import and registered on every app would carry one app's hooks
and routes into the next (a host that adds a hook to the extension's pages for one app
would get it in the other). A bare app here, no database.
"""

from __future__ import annotations

from flask import Flask

from flask_partialpay.web import create_blueprints, register_views

NAMES = ("partialpay", "partialpay_admin", "partialpay_callbacks")


def extension_rules(app: Flask) -> list[tuple[str, str, list[str]]]:
    return sorted(
        (rule.rule, rule.endpoint, sorted(rule.methods or ()))
        for rule in app.url_map.iter_rules()
        if rule.endpoint.split(".")[0] in NAMES
    )


def test_each_call_makes_new_blueprints_with_the_same_routes() -> None:
    first, second = create_blueprints(), create_blueprints()
    assert [b.name for b in first] == [b.name for b in second] == list(NAMES)
    for mine, theirs in zip(first, second, strict=True):
        assert mine is not theirs
        assert len(mine.deferred_functions) == len(theirs.deferred_functions) > 0


def test_a_hook_added_for_one_app_stays_out_of_the_other() -> None:
    first, second = create_blueprints(), create_blueprints()

    def only_here() -> None:
        return None

    first.shopper.before_request(only_here)
    assert only_here in first.shopper.before_request_funcs[None]
    assert only_here not in second.shopper.before_request_funcs.get(None, [])


def test_two_apps_get_their_own_blueprints_and_the_same_addresses() -> None:
    one, two = Flask("one"), Flask("two")
    two.config["PARTIALPAY_URL_PREFIX"] = "/pay"
    register_views(one)
    register_views(two)
    for name in NAMES:
        assert one.blueprints[name] is not two.blueprints[name]
    assert (
        "/partialpay/wallet",
        "partialpay.wallet_overview",
        ["GET", "HEAD", "OPTIONS", "POST"],
    ) in (extension_rules(one))
    # Each app's settings shape its own addresses only.
    wallet_pages = [
        rule for rule, endpoint, _ in extension_rules(two) if "wallet_overview" in endpoint
    ]
    assert wallet_pages == ["/pay/wallet"]
    assert len(extension_rules(one)) == len(extension_rules(two)) > 20
