"""The emulated KMS service: `Emulator.execute(region, action)` is its one entry point.

An action is one of the typed actions of provider/domain/model.py; the answer is one of its typed
results (bytes, enums, POSIX times), never a wire object. The embedded backend calls it in process;
`kmsctl serve` calls it once a dialect has parsed a request. Where things are:

    store.py           all SQL, transactions, material sealed at rest and its cache
    clock.py           the service clock, AdvanceClock, what comes due (deletions, rotations)
    context.py         settings; naming a key (id, TRN, alias, keyring + name); describing it
    keys.py            a key's lifecycle: create, describe, list, update, state, deletion, rotation, tags
    replicas.py        ReplicateKey
    keyrings.py        keyrings
    aliases.py         aliases
    crypto_actions.py  encrypt, decrypt, data keys, re-encrypt, sign, verify, MACs, public keys
    imports.py         external key material
    primitives.py      the cryptographic mechanisms only (no rule of the service)
The service's rules are in provider/domain/rules.py, nowhere here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..domain import model
from ..domain.errors import InvalidParameter
from . import aliases, clock, crypto_actions, imports, keyrings, keys, replicas
from .context import ServiceContext

Handler = Callable[[ServiceContext, str, Any], model.Result]

HANDLERS: dict[type[model.Action], Handler] = {
    model.CreateKey: keys.create_key,
    model.DescribeKey: keys.describe_key,
    model.DescribeKeys: keys.describe_keys,
    model.UpdateKey: keys.update_key,
    model.EnableKey: keys.enable_key,
    model.DisableKey: keys.disable_key,
    model.ScheduleKeyDeletion: keys.schedule_key_deletion,
    model.CancelKeyDeletion: keys.cancel_key_deletion,
    model.EnableKeyRotation: keys.enable_key_rotation,
    model.DisableKeyRotation: keys.disable_key_rotation,
    model.TagKey: keys.tag_key,
    model.UntagKey: keys.untag_key,
    model.ReplicateKey: replicas.replicate_key,
    model.CreateKeyring: keyrings.create_keyring,
    model.DescribeKeyrings: keyrings.describe_keyrings,
    model.UpdateKeyring: keyrings.update_keyring,
    model.DeleteKeyring: keyrings.delete_keyring,
    model.CreateAlias: aliases.create_alias,
    model.UpdateAlias: aliases.update_alias,
    model.DeleteAlias: aliases.delete_alias,
    model.ListAliases: aliases.list_aliases,
    model.Encrypt: crypto_actions.encrypt,
    model.Decrypt: crypto_actions.decrypt,
    model.GenerateDataKey: crypto_actions.generate_data_key,
    model.ReEncrypt: crypto_actions.re_encrypt,
    model.Sign: crypto_actions.sign,
    model.Verify: crypto_actions.verify,
    model.GetPublicKey: crypto_actions.get_public_key,
    model.GenerateMac: crypto_actions.generate_mac,
    model.VerifyMac: crypto_actions.verify_mac,
    model.GetParametersForImport: imports.get_parameters_for_import,
    model.ImportKeyMaterial: imports.import_key_material,
    model.AdvanceClock: clock.advance_clock,
}


class Emulator(ServiceContext):
    """The KMS service over one state directory. Safe to share between threads and processes; it is
    itself a `Backend` (execute + close)."""

    def execute(self, region: str, action: model.Action) -> model.Result:
        handler = HANDLERS.get(type(action))
        if handler is None:
            raise InvalidParameter(f"The request parameter Action is invalid: unknown action {type(action).__name__}")
        self.catalog.region(region)
        return handler(self, region, action)
