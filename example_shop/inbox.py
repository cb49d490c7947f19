"""The inbox: the shop's messages to a customer, with a "Buy" or "Complete Payment" button.

This is how an instalment offer reaches a customer: "Make Payment Partial" is offered only
through a "Buy" button sent to them (or on a landing page), never through the offer's
direct link. An admin writes the message; the customer reads it under Inbox.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from sqlalchemy import select
from werkzeug.wrappers import Response

from flask_partialpay import PartialPayError, format_money, translate_error

from . import partialpay
from .admin import admin_only
from .forms import BUTTON_LABELS, BUY, COMPLETE, MessageForm
from .models import Message, User, db
from .offers import ShopOffers

bp = Blueprint("inbox", __name__)


@dataclass(frozen=True)
class Button:
    kind: str
    label: str
    url: str


NO_BUTTON = Button(kind="", label="", url="")


@bp.get("/inbox")
@login_required
def inbox() -> str:
    messages = db.session.scalars(
        select(Message).where(Message.recipient_id == current_user.id).order_by(Message.id.desc())
    )
    return render_template("inbox.html", messages=list(messages))


@bp.get("/admin/messages")
@admin_only
def sent() -> str:
    messages = db.session.scalars(select(Message).order_by(Message.id.desc()).limit(200))
    return render_template("admin/messages.html", messages=list(messages))


@bp.route("/admin/messages/new", methods=["GET", "POST"])
@admin_only
def new_message() -> str | Response:
    form = MessageForm(recipients=_recipients(), offers=_offers())
    if form.validate_on_submit():
        recipient = db.session.get(User, form.recipient.data)
        button = _button(form, recipient) if recipient is not None else None
        if recipient is not None and button is not None:
            db.session.add(
                Message(
                    recipient_id=recipient.id,
                    author_id=current_user.id,
                    body=(form.body.data or "").strip(),
                    button_kind=button.kind,
                    button_label=button.label,
                    button_url=button.url,
                )
            )
            db.session.commit()
            flash(f"Message sent to {recipient.name}.", "success")
            return redirect(url_for("inbox.sent"))
    return render_template("admin/message_new.html", form=form)


def _recipients() -> list[tuple[int, str]]:
    """The customers, and the admin writing: sending to yourself is how a link is tried."""
    users = db.session.scalars(
        select(User)
        .where((User.is_admin.is_(False)) | (User.id == current_user.id))
        .order_by(User.name, User.id)
    )
    return [
        (user.id, f"{user.name} (you, for testing)" if user.id == current_user.id else user.name)
        for user in users
    ]


def _offers() -> list[tuple[str, str]]:
    return [
        (offer.offer_id, f"{offer.name} ({format_money(offer.price, offer.currency)})")
        for offer in ShopOffers().search("")
    ]


def _button(form: MessageForm, recipient: User) -> Button | None:
    """The chosen button with its signed link; None when a field got an error instead."""
    if form.button.data == BUY:
        return _buy_button(form, recipient)
    if form.button.data == COMPLETE:
        return _complete_button(form, recipient)
    return NO_BUTTON


def _buy_button(form: MessageForm, recipient: User) -> Button | None:
    offer = ShopOffers().get(form.offer.data or "")
    if offer is None:
        form.offer.errors.append("Choose the offer the button buys.")
        return None
    try:
        # Bound to the recipient: the link is theirs, whoever else it is forwarded to.
        url = partialpay.instalments.buy_link(
            offer.offer_id,
            allow_partial=bool(form.allow_partial.data),
            customer_id=str(recipient.id),
        )
    except PartialPayError as error:
        form.offer.errors.append(translate_error(error))
        return None
    return Button(kind=BUY, label=BUTTON_LABELS[BUY], url=url)


def _complete_button(form: MessageForm, recipient: User) -> Button | None:
    number = (form.order_number.data or "").strip()
    name = (form.offer_name.data or "").strip()
    if bool(number) == bool(name):
        form.order_number.errors.append("Enter the order number or the offer name: one of them.")
        return None
    field = form.order_number if number else form.offer_name
    try:
        url = partialpay.instalments.complete_payment_link(
            str(recipient.id), order=number or None, offer_name=name or None
        )
    except PartialPayError as error:
        # Typically OrderNotFound: no open order of this customer by that number or offer.
        field.errors.append(translate_error(error))
        return None
    return Button(kind=COMPLETE, label=BUTTON_LABELS[COMPLETE], url=url)
