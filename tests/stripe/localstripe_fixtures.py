"""localstripe for the tests, and the example shop served where its webhooks can reach it.

* ``localstripe`` (session): ``python -m tests.stripe.localstripe_server --port 0`` (our
  launcher, see that module for what it adds to localstripe) started with the venv's Python,
  waited for until it answers, stopped at the end. A localstripe that is installed but does
  not start fails the run; one that is not installed fails it too when
  ``PARTIALPAY_REQUIRE_BACKENDS=1`` (CI), and skips the tests otherwise.
* ``localstripe_data``: localstripe's objects flushed (``DELETE /_config/data``) before and
  after the test.
* ``localstripe_settings``: the shop's settings with the ``stripe`` gateway on localstripe.
* ``stripe_shop``: the integration tier's ``app`` served over HTTP on 127.0.0.1 in a thread,
  localstripe's webhook registered to its callback URL with the shop's secret, and every
  webhook delivery recorded (body, signature, answer) so a test can wait for it or replay it.

A module uses them by overriding the tier's ``shop_config`` with ``localstripe_settings``.
"""

from __future__ import annotations

import hashlib
import hmac
import importlib
import importlib.util
import io
import json
import os
import selectors
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import pytest
from flask import Flask, url_for
from werkzeug.serving import BaseWSGIServer, make_server

REPO_ROOT = Path(__file__).resolve().parents[2]
REQUIRED = os.environ.get("PARTIALPAY_REQUIRE_BACKENDS") == "1"
START_TIMEOUT = 30.0

SECRET_KEY = "sk_test_partialpay_localstripe"
PUBLISHABLE_KEY = "pk_test_partialpay_localstripe"
WEBHOOK_SECRET = "whsec_partialpay_localstripe"
# One webhook id for the whole run: registering it again (each test's shop has its own
# URL) replaces the last test's, so localstripe never posts to a shop that is gone.
WEBHOOK_ID = "partialpay-tests"


# -- localstripe ----------------------------------------------------------------------------


@dataclass
class LocalStripe:
    """A running localstripe: its base URL, and the few calls the tests make to it directly."""

    url: str
    process: subprocess.Popen[str]
    log: Path

    def call(self, method: str, path: str, data: dict[str, str] | None = None) -> Any:
        """An HTTP call to localstripe with the test secret key; its JSON answer (or None)."""
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(  # noqa: S310 (a loopback http URL of our own)
            self.url + path,
            data=body,
            method=method,
            headers={"Authorization": f"Bearer {SECRET_KEY}"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            text = response.read().decode()
        return json.loads(text) if text else None

    def flush(self) -> None:
        self.call("DELETE", "/_config/data")

    def register_webhook(self, url: str, secret: str) -> None:
        self.call("POST", f"/_config/webhooks/{WEBHOOK_ID}", {"url": url, "secret": secret})

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def _read_port(process: subprocess.Popen[str], deadline: float) -> int | None:
    """The port the launcher prints once its socket is bound, or None if it never does."""
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if not selector.select(timeout=max(0.0, deadline - time.monotonic())):
                break
            line = process.stdout.readline()
            if not line:  # the process ended
                return None
            if line.startswith("localstripe listening on port "):
                return int(line.rsplit(" ", 1)[1])
    return None


def _answers(server: LocalStripe) -> bool:
    try:
        server.call("GET", "/v1/customers?limit=1")
    except (OSError, urllib.error.URLError, ValueError):
        return False
    return True


def _missing(package: str) -> NoReturn:
    message = f"{package} is not installed (pip install -e '.[test]')"
    if REQUIRED:
        pytest.fail(message + " and PARTIALPAY_REQUIRE_BACKENDS=1")
    pytest.skip(message, allow_module_level=True)


def stripe_sdk() -> Any:
    """The ``stripe`` SDK module; a test module without it is skipped, or fails in CI."""
    if importlib.util.find_spec("stripe") is None:
        _missing("stripe")
    return importlib.import_module("stripe")


# Our launcher of localstripe (tests/stripe/localstripe_server.py), run as a module.
LAUNCHER = "tests.stripe.localstripe_server"


def start_localstripe(log: Path, launcher: str = LAUNCHER) -> LocalStripe:
    """Start the launcher on a free port and wait until it answers; fail the run if not."""
    if importlib.util.find_spec("localstripe") is None:
        _missing("localstripe")
    with log.open("w") as log_file:
        process = subprocess.Popen(  # noqa: S603 (a module of ours, the venv's Python)
            [sys.executable, "-m", launcher, "--port", "0"],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=log_file,
            text=True,
        )
    deadline = time.monotonic() + START_TIMEOUT
    port = _read_port(process, deadline)
    server = LocalStripe(url=f"http://127.0.0.1:{port}", process=process, log=log)
    while port is not None and process.poll() is None and time.monotonic() < deadline:
        if _answers(server):
            return server
        time.sleep(0.1)
    stop_localstripe(server)
    pytest.fail(f"localstripe did not start within {START_TIMEOUT:.0f}s:\n{server.log_tail()}")


def stop_localstripe(server: LocalStripe) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait(timeout=10)
    if server.process.stdout is not None:
        server.process.stdout.close()


@pytest.fixture(scope="session")
def localstripe(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStripe]:
    server = start_localstripe(tmp_path_factory.mktemp("localstripe") / "localstripe.log")
    try:
        yield server
    finally:
        stop_localstripe(server)


@pytest.fixture
def localstripe_data(localstripe: LocalStripe) -> Iterator[LocalStripe]:
    """localstripe with no objects of an earlier test (nor left for a later one)."""
    localstripe.flush()
    yield localstripe
    localstripe.flush()


@pytest.fixture
def localstripe_settings(localstripe: LocalStripe) -> dict[str, Any]:
    """The shop's settings with the ``stripe`` gateway talking to localstripe."""
    return {
        "PARTIALPAY_GATEWAYS": ("stripe", "sandbox_card", "manual"),
        "PARTIALPAY_STRIPE_SECRET_KEY": SECRET_KEY,
        "PARTIALPAY_STRIPE_PUBLISHABLE_KEY": PUBLISHABLE_KEY,
        "PARTIALPAY_STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "PARTIALPAY_STRIPE_API_BASE": localstripe.url,
    }


# -- the shop where localstripe's webhooks arrive ----------------------------------------------


@dataclass(frozen=True)
class Delivery:
    """One webhook as the shop received it, and the status the shop answered."""

    body: bytes
    signature: str
    status: int

    @property
    def event(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


@dataclass
class WebhookRecorder:
    """WSGI middleware: records every POST to the Stripe callback, passes it on unchanged."""

    app: Callable[..., Any]
    path: str
    deliveries: list[Delivery] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if environ.get("PATH_INFO") != self.path or environ.get("REQUEST_METHOD") != "POST":
            return self.app(environ, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length)
        environ["wsgi.input"] = io.BytesIO(body)
        answered: list[int] = []

        def record_status(status: str, headers: Any, *args: Any) -> Any:
            answered.append(int(status.split(" ", 1)[0]))
            return start_response(status, headers, *args)

        result = self.app(environ, record_status)
        try:
            chunks = list(result)
        finally:
            close = getattr(result, "close", None)
            if callable(close):
                close()
        with self.changed:
            self.deliveries.append(
                Delivery(body, environ.get("HTTP_STRIPE_SIGNATURE", ""), answered[0])
            )
            self.changed.notify_all()
        return chunks

    def wait_for(self, event_type: str, payment_intent: str, timeout: float = 20.0) -> Delivery:
        """The first delivery of ``event_type`` about ``payment_intent``, once it is answered."""

        def found() -> Delivery | None:
            for delivery in self.deliveries:
                event = delivery.event
                if event["type"] == event_type and event["data"]["object"]["id"] == payment_intent:
                    return delivery
            return None

        with self.changed:
            if not self.changed.wait_for(lambda: found() is not None, timeout=timeout):
                seen = [d.event["type"] for d in self.deliveries]
                pytest.fail(f"no {event_type} webhook for {payment_intent} (seen: {seen})")
            delivery = found()
            assert delivery is not None
            return delivery


@dataclass
class StripeShop:
    """The example shop on HTTP, the localstripe it pays through, the webhooks it got."""

    url: str
    app: Flask
    localstripe: LocalStripe
    webhooks: WebhookRecorder

    def post_webhook(self, body: bytes, signature: str) -> int:
        """POST a webhook to the shop over HTTP, as Stripe would; the status it answers."""
        request = urllib.request.Request(  # noqa: S310 (the loopback shop of this test)
            self.url + self.webhooks.path,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "Stripe-Signature": signature},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                return int(response.status)
        except urllib.error.HTTPError as error:
            error.close()
            return int(error.code)


def sign(body: bytes, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """A ``Stripe-Signature`` header for ``body``, made as Stripe (and localstripe) make it."""
    at = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={at},v1={digest}"


def event_body(event_type: str, obj: dict[str, Any], *, event_id: str | None = None) -> bytes:
    """The JSON body of a webhook of ``event_type`` about ``obj``, as Stripe sends it."""
    created = int(time.time())
    return json.dumps(
        {
            "id": event_id or f"evt_test_{created}_{obj.get('id', '')}",
            "object": "event",
            "type": event_type,
            "created": created,
            "livemode": False,
            "data": {"object": obj},
        }
    ).encode()


@pytest.fixture
def stripe_shop(app: Flask, localstripe_data: LocalStripe) -> Iterator[StripeShop]:
    """The test's shop (``app``, on the test's backend) served on 127.0.0.1, localstripe's
    webhook pointed at it."""
    with app.test_request_context():
        callback = url_for("partialpay_callbacks.gateway_callback", gateway_name="stripe")
    recorder = WebhookRecorder(app.wsgi_app, callback)
    server: BaseWSGIServer = make_server("127.0.0.1", 0, recorder, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="stripe-shop", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}"
    localstripe_data.register_webhook(url + callback, WEBHOOK_SECRET)
    try:
        yield StripeShop(url=url, app=app, localstripe=localstripe_data, webhooks=recorder)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
