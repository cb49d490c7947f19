"""Signing in and out."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import login_user, logout_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from .forms import CsrfOnlyForm, LoginForm
from .models import User, db

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("shop.catalogue")


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | Response:
    form = LoginForm()
    if form.validate_on_submit():
        user = db.session.scalars(
            select(User).where(User.email == (form.email.data or "").strip().lower())
        ).one_or_none()
        if user is not None and user.check_password(form.password.data or ""):
            login_user(user)
            return redirect(_safe_next(request.args.get("next")))
        form.password.errors.append("That email and password do not match an account.")
    return render_template("login.html", form=form)


@bp.post("/logout")
def logout() -> Response:
    if CsrfOnlyForm().validate_on_submit():
        logout_user()
        flash("You are signed out.", "success")
    return redirect(url_for("shop.catalogue"))
