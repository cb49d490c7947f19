"""Stripe at the SDK's HTTP boundary: answers from a script, every request recorded.

:class:`RecordedStripe` is a :class:`stripe.HTTPClient`: the SDK builds, signs, retries and
parses its requests as it does against Stripe, and this client answers them from a script
of responses in Stripe's documented JSON format, for what a local Stripe-compatible server
cannot do (declines of off-session charges, an answer lost after Stripe took the money).

Like Stripe, it remembers each ``Idempotency-Key``: a request repeated under a key gets
the first answer again, without doing the work twice. :attr:`RecordedStripe.executed`
lists the requests that did the work (the ones that would take money), so a test counts
charges, not attempts.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import stripe
from requests.structures import CaseInsensitiveDict


@dataclass(frozen=True)
class Sent:
    """One request as the SDK sent it."""

    method: str
    url: str
    headers: Mapping[str, str]
    body: str

    @property
    def path(self) -> str:
        return urlsplit(self.url).path

    @property
    def params(self) -> dict[str, str]:
        """The form-encoded parameters, flat: ``{"metadata[partialpay_payment]": "..."}``."""
        query = urlsplit(self.url).query if self.method == "GET" else self.body
        return dict(parse_qsl(query or "", keep_blank_values=True))

    @property
    def idempotency_key(self) -> str | None:
        return CaseInsensitiveDict(self.headers).get("Idempotency-Key")


@dataclass(frozen=True)
class Answer:
    """A recorded response: status, JSON body, extra headers."""

    status: int
    body: Mapping[str, Any]
    headers: Mapping[str, str] = field(default_factory=dict)


Responder = Callable[[Sent], Answer]


@dataclass
class _Expected:
    method: str
    path: str
    respond: Responder
    #: Answer this many requests; None: every one.
    times: int | None
    #: Do the work, then drop the connection before the answer arrives (a timeout).
    lose_answer: bool


class RecordedStripe(stripe.HTTPClient):
    """Answers the SDK from :meth:`expect`-ed responses; see the module's description."""

    name = "recorded"

    def __init__(self) -> None:
        super().__init__()
        self._expected: list[_Expected] = []
        self._answered: dict[str, Answer] = {}
        #: Every request the SDK sent, retries and replays included.
        self.sent: list[Sent] = []
        #: The requests that did the work (not replayed from an idempotency key).
        self.executed: list[Sent] = []

    def expect(
        self,
        method: str,
        path: str,
        respond: Answer | Responder,
        *,
        times: int | None = 1,
        lose_answer: bool = False,
    ) -> None:
        """Answer the next ``times`` requests to ``path`` (a prefix) with ``respond``."""
        responder = respond if callable(respond) else _always(respond)
        self._expected.append(_Expected(method, path, responder, times, lose_answer))

    def executed_to(self, method: str, path: str) -> list[Sent]:
        return [sent for sent in self.executed if (sent.method, sent.path) == (method, path)]

    # -- stripe.HTTPClient ----------------------------------------------------------------

    def request(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        post_data: Any = None,
        *,
        _usage: list[str] | None = None,
    ) -> tuple[str, int, Mapping[str, str]]:
        body = post_data.decode() if isinstance(post_data, bytes) else (post_data or "")
        sent = Sent(method.upper(), url, dict(headers or {}), body)
        self.sent.append(sent)
        key = sent.idempotency_key
        if key is not None and key in self._answered:
            return self._response(self._answered[key], key, replayed=True)
        expected = self._next(sent)
        answer = expected.respond(sent)
        self.executed.append(sent)
        if key is not None and answer.status < 500:
            self._answered[key] = answer  # Stripe keeps every answer but a server error's
        if expected.lose_answer:
            expected.lose_answer = False  # once: the retry reaches the stored answer
            raise stripe.APIConnectionError(
                "Request timed out after Stripe received it (recorded).", should_retry=True
            )
        return self._response(answer, key, replayed=False)

    def close(self) -> None:
        pass

    def _sleep_time_seconds(self, num_retries: int) -> float:
        return 0.0  # the SDK's back-off, without the wait

    def _next(self, sent: Sent) -> _Expected:
        for expected in self._expected:
            if expected.method == sent.method and sent.path.startswith(expected.path):
                if expected.times is not None:
                    expected.times -= 1
                    if expected.times == 0:
                        self._expected.remove(expected)
                return expected
        raise AssertionError(f"unexpected Stripe request: {sent.method} {sent.path}")

    @staticmethod
    def _response(
        answer: Answer, key: str | None, *, replayed: bool
    ) -> tuple[str, int, Mapping[str, str]]:
        headers: CaseInsensitiveDict[str] = CaseInsensitiveDict(
            {"Content-Type": "application/json", "Request-Id": f"req_{next(_ids):06d}"}
        )
        if key is not None:
            headers["Idempotency-Key"] = key
            if replayed:
                headers["Idempotent-Replayed"] = "true"
        headers.update(answer.headers)
        return json.dumps(answer.body), answer.status, headers


def _always(answer: Answer) -> Responder:
    return lambda _sent: answer


_ids = itertools.count(1)


def new_id(prefix: str) -> str:
    return f"{prefix}_{next(_ids):08d}rec"


# -- Stripe's objects, as its API documents them --------------------------------------------


def _metadata(sent: Sent) -> dict[str, str]:
    return {
        name[len("metadata[") : -1]: value
        for name, value in sent.params.items()
        if name.startswith("metadata[")
    }


def payment_intent(
    *,
    intent_id: str | None = None,
    amount: int,
    currency: str,
    metadata: Mapping[str, str],
    status: str = "requires_payment_method",
    **extra: Any,
) -> dict[str, Any]:
    """A PaymentIntent object."""
    intent_id = intent_id or new_id("pi")
    return {
        "id": intent_id,
        "object": "payment_intent",
        "amount": amount,
        "amount_received": amount if status == "succeeded" else 0,
        "currency": currency,
        "status": status,
        "client_secret": f"{intent_id}_secret_{new_id('cs')}",
        "metadata": dict(metadata),
        "livemode": False,
        "created": 1_700_000_000,
        "automatic_payment_methods": {"enabled": True},
        "last_payment_error": None,
        **extra,
    }


def created_intent(sent: Sent) -> Answer:
    """Stripe's answer to ``POST /v1/payment_intents``: the PaymentIntent asked for."""
    params = sent.params
    return Answer(
        200,
        payment_intent(
            amount=int(params["amount"]),
            currency=params["currency"],
            metadata=_metadata(sent),
            status="succeeded" if params.get("confirm") == "true" else "requires_payment_method",
        ),
    )


def card_error(code: str, message: str, *, decline_code: str | None = None) -> Responder:
    """A 402 ``card_error``, with the PaymentIntent it left behind, as Stripe answers it."""

    def respond(sent: Sent) -> Answer:
        params = sent.params
        intent = payment_intent(
            amount=int(params["amount"]),
            currency=params["currency"],
            metadata=_metadata(sent),
        )
        error: dict[str, Any] = {
            "type": "card_error",
            "code": code,
            "message": message,
            "payment_intent": intent,
            "doc_url": f"https://docs.stripe.com/error-codes/{code.replace('_', '-')}",
        }
        if decline_code is not None:
            error["decline_code"] = decline_code
        return Answer(402, {"error": error})

    return respond


def refund_object(
    *,
    amount: int,
    currency: str,
    payment_intent_id: str,
    metadata: Mapping[str, str],
    status: str = "succeeded",
    refund_id: str | None = None,
) -> dict[str, Any]:
    """A Refund object."""
    return {
        "id": refund_id or new_id("re"),
        "object": "refund",
        "amount": amount,
        "currency": currency,
        "payment_intent": payment_intent_id,
        "charge": new_id("ch"),
        "status": status,
        "metadata": dict(metadata),
        "created": 1_700_000_100,
    }


def created_refund(sent: Sent) -> Answer:
    params = sent.params
    return Answer(
        200,
        refund_object(
            amount=int(params["amount"]),
            currency="usd",
            payment_intent_id=params["payment_intent"],
            metadata=_metadata(sent),
        ),
    )


def event(
    event_type: str, data_object: Mapping[str, Any], *, event_id: str | None = None
) -> dict[str, Any]:
    """An Event object, as a webhook posts it."""
    return {
        "id": event_id or new_id("evt"),
        "object": "event",
        "api_version": stripe.api_version,
        "created": 1_700_000_200,
        "type": event_type,
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "data": {"object": dict(data_object)},
    }
