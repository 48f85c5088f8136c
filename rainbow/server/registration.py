"""The registration secret lives in the store (as a hash), so that a restarted server, or another replica, accepts
the same secret as before.

A server started without a secret uses the stored one; one started with the stored secret carries on; one started
with a different secret is refused, unless the operator says the secret is being rotated.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from rainbow.server.auth import hash_credential, new_credential
from rainbow.store import ADMIN_TOKEN, ADMIN_TOKEN_HASH, REGISTRATION_SECRET, REGISTRATION_SECRET_HASH, Store

log = logging.getLogger("rainbow.server")


class SecretMismatch(RuntimeError):
    """--secret differs from the store's registration secret and no rotation was asked for."""


@dataclass(frozen=True)
class Settled:
    secret: str  # the secret given or made here ("" when the store's is used and was not given)
    generated: bool  # made here: print it once


def settle_registration_secret(store: Store, secret: str | None, rotate: bool = False) -> Settled:
    """Reconcile the secret given at start-up with the one the store keeps; see the module docstring."""
    stored = store.get_setting(REGISTRATION_SECRET_HASH)
    if secret:
        wanted = hash_credential(secret)
        if stored is None:
            if store.setdefault_setting(REGISTRATION_SECRET_HASH, wanted) == wanted:
                return Settled(secret, False)
            stored = store.get_setting(REGISTRATION_SECRET_HASH)  # another server set one at the same moment
        if stored == wanted:
            return Settled(secret, False)
        if not rotate and wanted in store.retiring_hashes(REGISTRATION_SECRET):
            log.warning("--secret is the registration secret being rotated out: using the store's new one")
            return Settled("", False)
        if not rotate:
            raise SecretMismatch("the store already has a different registration secret: give the same --secret, "
                                 "none (to use the stored one), or add --rotate-registration-secret to replace it")
        store.set_setting(REGISTRATION_SECRET_HASH, wanted)
        log.warning("registration secret rotated: the previous secret no longer registers clusters")
        return Settled(secret, False)
    if stored is not None:
        return Settled("", False)
    made = new_credential()
    if store.setdefault_setting(REGISTRATION_SECRET_HASH, hash_credential(made)) == hash_credential(made):
        return Settled(made, True)
    return Settled("", False)


def settle_admin_token(store: Store, token: str | None, rotate: bool = False) -> bool:
    """Reconcile the admin token given at start-up with the store's, as for the registration secret, except that
    none is made up: without one anywhere the admin calls stay refused. Returns whether one is set."""
    stored = store.get_setting(ADMIN_TOKEN_HASH)
    if not token:
        return stored is not None
    wanted = hash_credential(token)
    if stored is None:
        stored = store.setdefault_setting(ADMIN_TOKEN_HASH, wanted)
    if stored == wanted:
        return True
    if not rotate and wanted in store.retiring_hashes(ADMIN_TOKEN):
        log.warning("--admin-token is the admin token being rotated out: using the store's new one")
        return True
    if not rotate:
        raise SecretMismatch("the store already has a different admin token: give the same --admin-token, none (to "
                             "use the stored one), or add --rotate-admin-token to replace it")
    store.set_setting(ADMIN_TOKEN_HASH, wanted)
    log.warning("admin token replaced at start-up: the previous token no longer works")
    return True
