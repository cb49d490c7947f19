"""What the extension reads from and gives back to the host app.

Owns the ``PARTIALPAY_*`` configuration (:mod:`.config`), translation in the host's locale
(:mod:`.i18n`), the blinker signals sent to the host (:mod:`.signals`), the host's customer
directory protocol (:mod:`.customers`), safe redirects (:mod:`.redirects`) and the refusal
of published secrets (:mod:`.secret_keys`). It imports :mod:`~flask_partialpay.core` and
:mod:`~flask_partialpay.db` only.
"""
