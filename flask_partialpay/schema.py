"""Which of the extension's tables an app has: the sandbox processor's only when enabled.

The extension's own tables (:class:`~flask_partialpay.models.PartialPayModel`) are in every
app. The sandbox card processor's (:mod:`flask_partialpay.sandbox.models`) stand
in for a payment processor's records, so a production app that does not offer the sandbox
card has none of them. The one switch is ``"sandbox_card"`` in ``PARTIALPAY_GATEWAYS``: the
same setting that offers the gateway decides its tables, its migration branch
(:mod:`flask_partialpay.migrations`), ``flask partialpay sandbox-deliver`` and the audit's
processor checks, so they can never disagree.
"""

from __future__ import annotations

from flask import Flask, current_app
from sqlalchemy import MetaData

from flask_partialpay.db.base import PartialPayModel
from flask_partialpay.host.config import setting

# Imported for its tables' registration on PartialPayModel.metadata: saved cards are read
# only by gateways that save cards, so nothing else may have imported them before
# create_all or autogenerate look at the metadata.
# The e-mail outbox likewise: its table exists whether or not e-mail is on.
from flask_partialpay.mail import models as mail_models  # noqa: F401
from flask_partialpay.payments import saved_cards  # noqa: F401
from flask_partialpay.sandbox.card import NAME as SANDBOX_GATEWAY
from flask_partialpay.sandbox.models import SandboxModel


def sandbox_enabled(app: Flask | None = None) -> bool:
    """Whether ``app`` (default: the current app) offers the sandbox card, and so has its tables."""
    return SANDBOX_GATEWAY in setting("GATEWAYS", app or current_app)


def metadatas(app: Flask | None = None) -> list[MetaData]:
    """The metadatas of the extension's tables in ``app``, in the order to create them."""
    found = [PartialPayModel.metadata]
    if sandbox_enabled(app):
        found.append(SandboxModel.metadata)
    return found
