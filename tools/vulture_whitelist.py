"""Names vulture cannot see used: called by a framework, a template or a host.

``make lint`` runs vulture on the package with this file (settings in pyproject.toml,
min_confidence 60). Views and CLI commands are left out there by their decorators. A name
belongs here only with the reason nobody in the package calls it; dead code is deleted.
"""

# ruff: noqa: B018, F821
# (Each line names an attribute so that vulture counts it used; `_` stands for anything.)

# -- the host's API (docs/quickstart.md, docs/wallet.md, docs/migrations.md) -------------
_.create_tables
_.orders  # PartialPay.orders, .checkout, .instalments: the services of the app in context
_.checkout
_.instalments
_.placed  # partialpay.orders.placed/paid/cancelled/refunded: the host's order events
_.paid
_.cancelled
_.refunded
_.cart_fees  # partialpay.checkout
_.choose
_.hold_wallet
_.available_gateways
_.pay
_.via_wallet
_.complete_payment_link
_.wallet_choice  # flask_partialpay.wallet_choice, the host's checkout view calls it
_.release  # Wallets.release(hold_id)
_.is_locked  # Wallets.is_locked(owner_id, currency)
_.add_version_location  # init_app registers it: migrate.configure(add_version_location)
_.include_name  # a host's own env.py may pass them; init_app passes them in configure_args
_.include_object
_.help  # click shows a command's help: the db group's upgrade and downgrade
__getattr__  # flask_partialpay's lazy exports (PEP 562): Python calls them
__dir__
_.BRANCH  # the Alembic branch a host upgrades: "partialpay@head"
_.SANDBOX_BRANCH  # the sandbox's branch: "sandbox@head", when the sandbox card is on
_.target_metadatas  # the example shop's migrations/env.py writes the extension's revisions
_.taxable  # FeeLine.taxable: the host decides how to tax a fee line
_.owed_at_gateways  # RefundSplit, returned by orders.refunded

# -- read by templates -------------------------------------------------------------------
_.paid_from_wallet  # admin/payments.html: the wallet part of an order is not refunded here
_.auto_deducted  # WalletOffer, _wallet_choice.html
_.email  # CustomerInfo, admin wallet pages
_.minimum_first  # OrderRecord, admin/order.html
_.overpaid  # OrderRecord, admin/order.html
_.switch_fields  # StoreSettingsForm, admin/settings.html
_.balance_after  # statement lines, wallet.html
_.description  # statement lines, wallet.html
_.expiry  # SandboxCardForm fields, rendered by sandbox_card.html
_.cvc

# -- WTForms ------------------------------------------------------------------------------
_.pre_validate
_.validate_card_number  # validate_<field> inline validators
_.validate_expiry
_.validate_cvc
_.validate_amount
_.validate_gateway
_.Meta

# -- SQLAlchemy: a TypeDecorator's hooks, and columns written by keyword --------------------
# (kept for people reading the database and for the audit trail; dropping one needs a
# migration, not a lint fix)
_.impl
_.cache_ok
_.process_bind_param
_.process_result_value
_.title
_.declined_by
_.decided_at
_.received_at
_.card_last4
_.last_answer
_.locked_by
_.updated_by
_.updated_at

# -- Alembic reads these from every revision script ----------------------------------------
_.revision
_.down_revision
_.branch_labels
_.depends_on
_.upgrade
_.downgrade

# -- the ledger's correction: docs/wallet.md "a correction is a reversing transfer"; no
# caller in the package yet, tests/test_audit.py writes one to check the append_only audit --
_.reverse

# -- the stripe gateway ----------------------------------------------------------------------
_.use_http_client  # StripeApi: tests answer Stripe's API from recorded responses through it
_.charge_saved_card  # StripeGateway: charging a saved card off session (saved cards, plans)

# -- payment plans: the scheduler's columns of partialpay_instalment, created with the
# schedule and written by the `run-due` scheduler (reminders, overdue, automatic charges) ----
_.reminded_on
_.overdue_since
_.charge_attempts
_.next_charge_on
_.history  # OrderPlan: what the scheduler did per instalment, read by the admin's order page
# AllowedPayment's bounds: the pay step takes them from payments/plan_range (which also
# counts payments under way); kept for hosts building their own pay page on a schedule
_.minimum_minor
_.maximum_minor
_.system_balance  # a system account's balance, for hosts' reports (docs/wallet.md "The wallet")

# -- the scheduler: a host's Celery set-up (docs/scheduler.md) calls these, and
# the jobs that call services (e-mail, automatic charges) are built on call_outside ---------
_.register_run_due
_.beat_schedule
_.call_outside  # tests/scheduler/test_claims.py proves its pattern until a job uses it
_.__call__  # JobRun: the protocol of a job's run function
# -- e-mail (flask_partialpay.mail): the plan events' public functions, for the code that
# runs due instalments to call (docs/mail.md); tests/mail/test_mail_events.py calls each
_.instalment_due
_.instalment_charged
_.instalment_charge_failed
_.instalment_overdue
_.last_error  # MailMessage: why its last delivery failed, for an admin reading the outbox
_.sent_at  # MailMessage: when the mail server took it
# -- automatic payments: read by templates/partialpay/_automatic_payments.html
_.active  # AutomaticPayments: the card agreed to can still be charged
_.agree  # AutomaticPaymentsForm: the customer's ticked agreement
# -- the checkout in two calls (web/checkout_page.py): CheckoutPage.to_pay is read by
# templates/partialpay/checkout_fields.html; WTForms calls validate_<field> itself -------------
_.to_pay
_.validate_idempotency_key
