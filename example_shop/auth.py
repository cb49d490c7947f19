"""Signing in and out."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import login_user, logout_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from flask_partialpay.host.redirects import requested_target

from .forms import CsrfOnlyForm, LoginForm
from .models import User, db

bp = Blueprint("auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | Response:
    # Checked before anyone is signed in: a hostile ``next`` changes nothing.
    back = requested_target(request.args.get("next")) or url_for("shop.catalogue")
    form = LoginForm()
    if form.validate_on_submit():
        user = db.session.scalars(
            select(User).where(User.email == (form.email.data or "").strip().lower())
        ).one_or_none()
        if user is not None and user.check_password(form.password.data or ""):
            login_user(user)
            return redirect(back)
        form.password.errors.append("That email and password do not match an account.")
    return render_template("login.html", form=form)


@bp.post("/logout")
def logout() -> Response:
    if CsrfOnlyForm().validate_on_submit():
        logout_user()
        flash("You are signed out.", "success")
    return redirect(url_for("shop.catalogue"))
