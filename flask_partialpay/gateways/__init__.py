"""Payment methods: the protocol and the gateways that ship with the extension."""

from __future__ import annotations

from .base import Gateway, GatewayEvent, StartOutcome
from .manual import ManualGateway
from .sandbox_card import SandboxCardGateway

__all__ = ["Gateway", "GatewayEvent", "ManualGateway", "SandboxCardGateway", "StartOutcome"]
