"""Payment methods: the gateway protocol (:mod:`.base`), the registry that builds an app's
gateways (:mod:`.registry`) and the gateways that ship with the extension: the wallet
(:mod:`.wallet`), bank transfer confirmed by a manager (:mod:`.manual`) and a processor
that confirms by callback (:mod:`.external`). The sandbox card is in
:mod:`flask_partialpay.sandbox`.
"""
