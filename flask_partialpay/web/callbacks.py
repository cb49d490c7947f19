"""Server-to-server notifications from gateways, authenticated by signature, not CSRF."""

from __future__ import annotations

from flask import Blueprint, request

from flask_partialpay.payments.notifications import receive


def gateway_callback(gateway_name: str) -> tuple[str, int]:
    headers = {name.lower(): value for name, value in request.headers.items()}
    return receive(gateway_name, request.get_data(), headers)


def add_routes(blueprint: Blueprint) -> None:
    """The gateways' notification address, on the callbacks blueprint."""
    blueprint.post("/<gateway_name>/callback")(gateway_callback)
