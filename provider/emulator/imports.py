"""External key material (Huawei Cloud DEW, Creating a Custom Key): GetParametersForImport hands out a wrapping key and
a token, ImportKeyMaterial unwraps the material into a `PendingImport` key, which becomes `Enable`. The wrapping specs
and material lengths are rules in provider/domain/rules.py."""

from __future__ import annotations

import base64
import os

from ..domain import model, rules
from ..domain.rules import KeyState, Op
from . import clock, primitives
from .context import ServiceContext
from .store import KeyRow, Tx


def _import_key(svc: ServiceContext, tx: Tx, region: str, ref: model.KeyRef, now: float) -> KeyRow:
    """Inside a write transaction: the External key waiting for its material."""
    key = svc.resolve(tx, region, ref, now)
    rules.importable(key.origin, key.id)
    rules.require_state(key.state(now), Op.IMPORT, key.id)
    return key


def get_parameters_for_import(
    svc: ServiceContext, region: str, action: model.GetParametersForImport
) -> model.ImportParameters:
    algorithm = rules.wrapping(action.wrapping_key_spec, action.wrapping_algorithm)
    wrapping = primitives.wrapping_key()
    from cryptography.hazmat.primitives import serialization as ser  # here: ~10 ms no start needs

    der = wrapping.private_bytes(ser.Encoding.DER, ser.PrivateFormat.PKCS8, ser.NoEncryption())
    public = wrapping.public_key().public_bytes(ser.Encoding.DER, ser.PublicFormat.SubjectPublicKeyInfo)
    token = base64.b64encode(os.urandom(32)).decode()
    with svc.store.write() as tx:
        now = clock.writing(tx)
        key = _import_key(svc, tx, region, action.key, now)
        valid_to = now + rules.IMPORT_PARAMETERS_SECONDS
        tx.save_import(key.id, token, algorithm, der, valid_to)
    return model.ImportParameters(
        key_id=key.id, import_token=token, public_key_der=public, valid_to=valid_to, wrapping_algorithm=algorithm
    )


def import_key_material(svc: ServiceContext, region: str, action: model.ImportKeyMaterial) -> model.Key:
    with svc.store.write() as tx:
        now = clock.writing(tx)
        key = _import_key(svc, tx, region, action.key, now)
        pending = tx.pending_import(key.id)
        rules.import_token((pending.token, pending.valid_to) if pending else None, action.import_token, now)
        assert pending is not None  # refused by the rule above
        material = primitives.unwrap(pending.wrapping_key_der, action.encrypted_material, pending.algorithm)
        rules.material_length(key.spec, len(material))
        tx.add_material(key.material_id, material, now)
        tx.drop_import(key.id)
        tx.update_key(key.id, now, state=KeyState.ENABLE)
        return svc.view_id(tx, region, key.id, now)
