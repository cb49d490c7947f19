"""CI runs with PARTIALPAY_REQUIRE_BACKENDS=1: a database it cannot reach fails, not skips."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
UNREACHABLE = "mysql+pymysql://root@127.0.0.1:9/test"  # the discard port: nothing listens


# One test of each tier: both take their databases from tests/backends.py.
MARIADB_TESTS = {
    "integration": "tests/payments/test_card_checkout.py::"
    "test_cart_shows_subtotal_tax_and_total[mariadb]",
    "unit": "tests/unit/test_wallet_api.py::"
    "test_a_wallet_never_used_has_a_zero_balance_and_no_account[mariadb]",
}


def run_one_mariadb_test(require: bool, test: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PARTIALPAY_TEST_MARIADB_URL=UNREACHABLE)
    env.pop("PARTIALPAY_REQUIRE_BACKENDS", None)
    if require:
        env["PARTIALPAY_REQUIRE_BACKENDS"] = "1"
    return subprocess.run(  # noqa: S603 (the node ids are this module's own)
        [
            sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
            test,
        ],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


@pytest.mark.parametrize("tier", sorted(MARIADB_TESTS))
@pytest.mark.parametrize("require", [True, False], ids=["required", "optional"])
def test_an_unreachable_backend_fails_only_when_required(require: bool, tier: str) -> None:
    result = run_one_mariadb_test(require, MARIADB_TESTS[tier])
    output = result.stdout + result.stderr
    if require:
        assert result.returncode == 1, output
        assert "cannot reach" in output and "1 error" in output
    else:
        assert result.returncode == 0, output
        assert "1 skipped" in output
