"""The payment methods one app has: which are registered, which are offered, and by what name.

A gateway is *registered* when the app knows it: the built-in ones (``sandbox_card``,
``manual`` and the wallet), those the host gives to ``PartialPay(gateways=[...])`` or
``init_app(..., gateways=[...])``, and those installed packages declare in the entry-point
group ``flask_partialpay.gateways``. It is *enabled* (offered at checkout, and able to
start payments and receive notifications) when ``PARTIALPAY_GATEWAYS`` names it; the
wallet is offered by the extension itself and is always there.

Names are what payments store and what the callback URL carries, so two gateways may
never share one, and a name in ``PARTIALPAY_GATEWAYS`` that nothing registered stops the
app at ``init_app`` rather than at the first payment.

An entry point names a gateway class, or any callable that takes no argument and returns
a gateway, for example in ``pyproject.toml``::

    [project.entry-points."flask_partialpay.gateways"]
    acme_pay = "acme_shop.payments:AcmePayGateway"

It is called once for each app, like the built-in gateways are built.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from flask_partialpay.core.errors import ConfigurationError, UnknownGateway
from flask_partialpay.payments.gateways.base import Gateway
from flask_partialpay.payments.gateways.wallet import WalletGateway

ENTRY_POINT_GROUP = "flask_partialpay.gateways"
#: Stored in ``partialpay_payment.gateway`` (32 characters) and used as a URL segment.
GATEWAY_NAME = re.compile(r"[A-Za-z0-9_-]{1,32}")
SETTING = "PARTIALPAY_GATEWAYS"
TOPUP_SETTING = "PARTIALPAY_TOPUP_GATEWAYS"


@dataclass(frozen=True)
class Registered:
    """A registered gateway and where it came from, for the messages that name it."""

    gateway: Gateway
    origin: str


def _described(gateway: object) -> str:
    kind = type(gateway)
    return f"{kind.__module__}.{kind.__qualname__}"


def _checked(gateway: object, origin: str) -> Gateway:
    """``gateway`` if it implements the protocol with a usable name; else why not."""
    if not isinstance(gateway, Gateway):
        missing = [
            member
            for member in (
                "name",
                "confirmed_by_manager",
                "supports_refund",
                "label",
                "start",
                "parse_callback",
                "refund",
            )
            if not hasattr(gateway, member)
        ]
        raise ConfigurationError(
            f"{origin} is not a flask_partialpay.Gateway: it lacks {', '.join(missing)}."
        )
    name = gateway.name
    if not isinstance(name, str) or not GATEWAY_NAME.fullmatch(name):
        raise ConfigurationError(
            f"{origin} is named {name!r}; a gateway's name is 1 to 32 letters, digits, "
            "'_' or '-' (payments store it, and its callback URL carries it)."
        )
    return gateway


def installed_gateways() -> list[Registered]:
    """The gateways installed packages declare in the ``flask_partialpay.gateways`` group."""
    found: list[Registered] = []
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        found.append(_from_entry_point(entry_point))
    return found


def _from_entry_point(entry_point: EntryPoint) -> Registered:
    origin = f"the entry point {entry_point.name} = {entry_point.value!r}"
    try:
        make = entry_point.load()
        gateway = make()
    # Another package's code, run at start: whatever it raises, say which entry point.
    except Exception as error:
        raise ConfigurationError(f"{origin} could not be loaded: {error!r}") from error
    gateway = _checked(gateway, origin)
    if gateway.name != entry_point.name:
        raise ConfigurationError(
            f"{origin} makes a gateway named {gateway.name!r}: name the entry point "
            "after its gateway."
        )
    return Registered(gateway, origin)


class GatewayRegistry:
    """One app's gateways: the one place that maps a name to a gateway.

    :attr:`enabled` is the dict of the gateways ``PARTIALPAY_GATEWAYS`` offers, in its
    order, without the wallet; :meth:`get` and :meth:`by_name` add the wallet, which every
    app has. A registered gateway that is not enabled is neither offered nor found.
    """

    def __init__(
        self,
        registered: Iterable[Registered],
        *,
        wallet: WalletGateway,
        enabled_names: Sequence[str],
    ) -> None:
        self.wallet = wallet
        self.registered: dict[str, Registered] = {}
        for entry in [Registered(wallet, "the built-in wallet gateway"), *registered]:
            earlier = self.registered.get(entry.gateway.name)
            if earlier is not None:
                raise ConfigurationError(
                    f"Two gateways are named {entry.gateway.name!r}: {earlier.origin} and "
                    f"{entry.origin}. Give one of them another name."
                )
            self.registered[entry.gateway.name] = entry
        self.enabled: dict[str, Gateway] = {
            name: self.registered[name].gateway for name in self._checked_names(enabled_names)
        }
        #: The enabled gateways a wallet top-up may be paid with (:meth:`allow_topups`).
        self.topup: dict[str, Gateway] = {}
        self.allow_topups(None)

    def _checked_names(self, names: Any) -> Sequence[str]:
        offerable = sorted(name for name in self.registered if name != self.wallet.name)
        allowed = ", ".join(repr(name) for name in offerable)
        if isinstance(names, str) or not isinstance(names, (list, tuple)):
            raise ConfigurationError(
                f"{SETTING} must be a list or tuple of names, for example "
                f"('sandbox_card', 'manual'); got {names!r}. The registered gateways are "
                f"{allowed}."
            )
        unknown = [name for name in names if name not in offerable]
        if unknown:
            wallet_note = (
                " (the wallet is offered by the extension itself)"
                if self.wallet.name in unknown
                else ""
            )
            raise ConfigurationError(
                f"{SETTING} names {', '.join(repr(name) for name in unknown)}, which no "
                f"gateway registered{wallet_note}; the registered gateways are {allowed}. "
                "Register your own with init_app(app, db, gateways=[...])."
            )
        return names

    def allow_topups(self, names: Any) -> None:
        """Check ``PARTIALPAY_TOPUP_GATEWAYS`` and keep the gateways it allows in :attr:`topup`.

        ``None`` allows every enabled gateway whose processor confirms its payments (not a
        bank transfer a manager confirms by hand). A list must name enabled gateways and
        never the wallet: money from the wallet cannot buy credit for the wallet.
        """
        if names is None:
            self.topup = {
                name: gateway
                for name, gateway in self.enabled.items()
                if not gateway.confirmed_by_manager
            }
            return
        enabled = ", ".join(repr(name) for name in self.enabled) or "none"
        if isinstance(names, str) or not isinstance(names, (list, tuple)):
            raise ConfigurationError(
                f"{TOPUP_SETTING} must be None or a list or tuple of gateway names, for "
                f"example ('sandbox_card',); got {names!r}. The enabled gateways are {enabled}."
            )
        if self.wallet.name in names:
            raise ConfigurationError(
                f"{TOPUP_SETTING} names {self.wallet.name!r}: a top-up cannot be paid from "
                f"the wallet it credits. The enabled gateways are {enabled}."
            )
        unknown = [name for name in names if name not in self.enabled]
        if unknown:
            raise ConfigurationError(
                f"{TOPUP_SETTING} names {', '.join(repr(name) for name in unknown)}, which "
                f"{SETTING} does not enable; the enabled gateways are {enabled}."
            )
        self.topup = {name: self.enabled[name] for name in names}

    def get(self, name: str) -> Gateway:
        """The enabled gateway (or the wallet) called ``name``; UnknownGateway if none."""
        if name == self.wallet.name:
            return self.wallet
        try:
            return self.enabled[name]
        except KeyError:
            raise UnknownGateway(name=name) from None

    def by_name(self) -> dict[str, Gateway]:
        """The enabled gateways and the wallet: every gateway the app's pages name."""
        return {**self.enabled, self.wallet.name: self.wallet}


def build_registry(
    *,
    built_in: Iterable[Gateway],
    host_gateways: Iterable[object],
    wallet: WalletGateway,
    enabled_names: Sequence[str],
) -> GatewayRegistry:
    """The registry of one app: built-in, host-given and installed gateways, and the wallet.

    Every built-in gateway is registered, enabled or not, so that no other gateway can
    take its name.
    """
    registered = [
        Registered(gateway, f"the built-in {gateway.name!r} gateway") for gateway in built_in
    ]
    for gateway in host_gateways:
        origin = f"{_described(gateway)} (given to PartialPay or init_app)"
        registered.append(Registered(_checked(gateway, origin), origin))
    registered.extend(installed_gateways())
    return GatewayRegistry(registered, wallet=wallet, enabled_names=enabled_names)
