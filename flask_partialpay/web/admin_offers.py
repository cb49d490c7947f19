"""The admin offer pages: an offer's "Allow Partial Payments" settings.

The offers are the host's (see :mod:`..offers`); the extension keeps only their
partial-payment policy, and shows what each percentage works out to for the price.
"""

from __future__ import annotations

from decimal import Decimal

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from flask_partialpay.core.errors import InvalidPercent
from flask_partialpay.core.money import currency_exponent, to_minor
from flask_partialpay.core.percent import parse_optional_percent
from flask_partialpay.host.i18n import gettext, translate_error
from flask_partialpay.instalments.offers import OfferInfo
from flask_partialpay.instalments.policy import Policy, policies_for
from flask_partialpay.plans.policy import MAX_INSTALMENTS, InvalidPlan
from flask_partialpay.plans.preview import preview_amounts
from flask_partialpay.state import current_partialpay
from flask_partialpay.web.access import admin_required
from flask_partialpay.web.forms.admin import OfferPolicyForm


@admin_required
def offers_list() -> str:
    instalments = current_partialpay.instalments
    offers = instalments.catalogue().search("")
    policies = policies_for(current_partialpay.session, [o.offer_id for o in offers])
    return render_template("partialpay/admin/offers.html", offers=offers, policies=policies)


def _offer_or_404(offer_id: str) -> OfferInfo:
    offer = current_partialpay.instalments.catalogue().get(offer_id)
    if offer is None:
        abort(404)
    return offer


@admin_required
def offer_settings(offer_id: str) -> str | Response:
    """The offer's additional settings; each percentage is shown as an amount of its price,
    and a schedule as the amounts of its payments."""
    state = current_partialpay
    instalments = state.instalments
    offer = _offer_or_404(offer_id)
    saved = instalments.policy(offer_id)
    form = OfferPolicyForm(
        data={
            "allow_partial": saved.allow_partial,
            "minimum_percent": _percent_text(saved.minimum_percent)
            if saved.allow_partial and saved.plan is None
            else "",
            "success_percent": _percent_text(saved.success_percent),
        }
    )
    if not form.is_submitted():
        form.plan_data(saved.plan)
    price_minor = to_minor(offer.price, offer.currency)
    today = state.today()
    shown = saved
    shown_plan = saved.plan
    if form.validate_on_submit():
        read = form.read()
        # Paid in full, the plan fields are hidden and the plan saved before is kept.
        plan = (
            form.read_plan(offer.currency, total_minor=price_minor, today=today)
            if form.allow_partial.data
            else saved.plan
        )
        plan_refused = bool(form.allow_partial.data) and form.schedule_chosen and plan is None
        if read is not None and not plan_refused:
            minimum, success = read
            try:
                instalments.set_policy(
                    offer_id,
                    allow_partial=bool(form.allow_partial.data),
                    minimum_percent=minimum,
                    success_percent=success,
                    plan=plan,
                    by=current_user.get_id(),
                )
            except (InvalidPercent, InvalidPlan) as error:  # checked by the form already
                form.minimum_percent.errors = [translate_error(error)]
            else:
                flash(
                    gettext("Saved the partial payment settings of %(name)s.", name=offer.name),
                    "success",
                )
                return redirect(form_url(offer_id))
        shown = _typed_policy(form, offer_id) or saved
        shown_plan = form.typed_plan(offer.currency) if form.allow_partial.data else saved.plan
    elif form.is_submitted():
        shown_plan = None
    preview = (
        preview_amounts(shown_plan, offer.price, offer.currency, today=today)
        if shown_plan is not None
        else None
    )
    return render_template(
        "partialpay/admin/offer_settings.html",
        offer=offer,
        form=form,
        price_minor=price_minor,
        exponent=currency_exponent(offer.currency),
        minimum_amount=_amount(shown, offer, "minimum"),
        success_amount=_amount(shown, offer, "success"),
        plan_amounts=preview.amounts if preview is not None else (),
        max_instalments=MAX_INSTALMENTS,
    )


def form_url(offer_id: str) -> str:
    return url_for("partialpay_admin.offer_settings", offer_id=offer_id)


def _percent_text(percent: Decimal | None) -> str:
    return "" if percent is None else str(percent)


def _typed_policy(form: OfferPolicyForm, offer_id: str) -> Policy | None:
    """The percentages as typed, where they parse (to show their amounts beside errors)."""
    try:
        minimum = parse_optional_percent(form.minimum_percent.data) or Decimal(0)
        success = parse_optional_percent(form.success_percent.data)
    except InvalidPercent:
        return None
    return Policy(offer_id, bool(form.allow_partial.data), minimum, success)


def _amount(policy: Policy, offer: OfferInfo, which: str) -> Decimal | None:
    """What a percentage of the policy works out to for the offer's price (rounded up)."""
    if which == "minimum":
        return policy.minimum_amount(offer.price, offer.currency)
    return policy.success_amount(offer.price, offer.currency)


def add_routes(blueprint: Blueprint) -> None:
    """The instalment offers' pages, on the admin blueprint."""
    blueprint.get("/offers")(offers_list)
    blueprint.route("/offers/<offer_id>", methods=["GET", "POST"])(offer_settings)
