"""Fixtures of the e-mail tests: the unit tier's bare app with e-mail on, a customer
directory, Flask-Babel, and a real SMTP server on loopback (aiosmtpd).

Each test's app sends through Flask-Mailman's SMTP backend to ``smtp_server``, which keeps
what it received; ``smtp_server.refusing()`` makes it answer every message with an error,
as a mail server that is down for the shop would.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from flask import Flask
from flask_babel import Babel
from flask_sqlalchemy import SQLAlchemy

from flask_partialpay import PartialPay
from flask_partialpay.host.customers import CustomerInfo
from tests.unit.conftest import app, db, plain_app  # noqa: F401 (fixtures of this folder too)


@dataclass
class Received:
    """One message the server accepted."""

    sender: str
    recipients: list[str]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    def part(self, subtype: str) -> str:
        body = self.message.get_body(preferencelist=(subtype,))
        assert body is not None, f"no text/{subtype} part"
        return str(body.get_content())  # type: ignore[attr-defined]


@dataclass
class SmtpServer:
    host: str
    port: int
    received: list[Received] = field(default_factory=list)
    refuse: bool = False
    #: Seconds each message takes to be accepted (a slow server keeps senders overlapping).
    delay: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.refuse:
            return "451 4.3.0 Try again later"
        content = envelope.original_content or b""
        parsed = message_from_bytes(content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        with self.lock:
            self.received.append(Received(str(envelope.mail_from), list(envelope.rcpt_tos), parsed))
        return "250 OK"

    @contextmanager
    def refusing(self) -> Iterator[None]:
        self.refuse = True
        try:
            yield
        finally:
            self.refuse = False

    def to(self, address: str) -> list[Received]:
        return [mail for mail in self.received if address in mail.recipients]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def _smtp_controller() -> Iterator[SmtpServer]:
    server = SmtpServer("127.0.0.1", _free_port())
    controller = Controller(server, hostname=server.host, port=server.port)
    controller.start()
    try:
        yield server
    finally:
        controller.stop()


@pytest.fixture
def smtp_server(_smtp_controller: SmtpServer) -> Iterator[SmtpServer]:
    """The loopback SMTP server, emptied for the test."""
    _smtp_controller.received.clear()
    _smtp_controller.refuse = False
    _smtp_controller.delay = 0.0
    yield _smtp_controller
    _smtp_controller.received.clear()


class Directory:
    """A host's customer directory: ids to addresses and languages."""

    def __init__(self) -> None:
        self.people: dict[str, CustomerInfo] = {}

    def add(self, customer_id: str, email: str, locale: str | None = None) -> None:
        self.people[customer_id] = CustomerInfo(customer_id, customer_id.title(), email, locale)

    def search(self, query: str) -> list[CustomerInfo]:
        return [info for info in self.people.values() if query in info.email]

    def get(self, customer_id: str) -> CustomerInfo | None:
        return self.people.get(customer_id)


@pytest.fixture
def directory() -> Directory:
    people = Directory()
    people.add("ana", "ana@example.com", "es")
    people.add("bob", "bob@example.com")
    return people


@pytest.fixture
def partialpay_config(smtp_server: SmtpServer) -> dict[str, Any]:
    return {
        "PARTIALPAY_GATEWAYS": ("manual",),
        "PARTIALPAY_MAIL": True,
        "PARTIALPAY_MAIL_SENDER": "shop@example.com",
        "PARTIALPAY_MAIL_ADMIN": "staff@example.com",
        "MAIL_BACKEND": "smtp",
        "MAIL_SERVER": smtp_server.host,
        "MAIL_PORT": smtp_server.port,
        "MAIL_TIMEOUT": 5,
    }


@pytest.fixture
def partialpay(plain_app: Flask, db: SQLAlchemy, directory: Directory) -> PartialPay:  # noqa: F811
    Babel(plain_app)
    extension = PartialPay()
    extension.init_app(plain_app, db, customer_directory=directory)
    return extension
