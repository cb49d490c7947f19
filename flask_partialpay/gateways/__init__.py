"""Payment methods: the protocol and the gateways that ship with the extension."""

from __future__ import annotations

from flask_partialpay.gateways.base import Gateway, GatewayEvent, StartOutcome
from flask_partialpay.gateways.manual import ManualGateway
from flask_partialpay.gateways.sandbox_card import SandboxCardGateway

__all__ = ["Gateway", "GatewayEvent", "ManualGateway", "SandboxCardGateway", "StartOutcome"]
