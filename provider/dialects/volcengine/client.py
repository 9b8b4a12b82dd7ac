"""Client side of the Volcengine dialect: a domain action as the calls Volcengine's API defines, exactly as
`volcenginesdk-kms` sends them, and their answers as the domain's result.

Volcengine answers several actions with nothing (EnableKey, UpdateKey, TagResources ...) and Encrypt
without the key's id: the client describes the key after them, so every backend answers the same typed
objects. It sends only what the API defines and reads only what its response models hold: Volcengine has
no aliases (the client refuses them without a call), and its DecryptResponse names no key.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from ...domain import model, rules
from ...domain.capabilities import VOLCENGINE as CAPABILITIES
from ...domain.errors import Conflict, InvalidParameter, KmsError, NotFound, UndefinedError, error_from_wire
from .. import HttpCall, Send, emulator_clock
from . import wire as w
from .shapes import b64, from_rfc3339, key_from, keyring_from, tags_doc, unb64, wire_spec

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_POST_HEADERS = {"Content-Type": "application/json"}
_GET_HEADERS = {"Content-Type": "text/plain"}
RESOURCE_TYPE = "keys"
DEFAULT_RSA_ALGORITHM = "RSAES_OAEP_SHA_256"  # what Encrypt uses for an RSA key when none is named
# State changes whose repeat after a lost answer could fail where the first succeeded (enabling an
# enabled key, scheduling a scheduled deletion ...): sent once; the caller looks before trying again.
_ONCE = frozenset({"EnableKey", "DisableKey", "ScheduleKeyDeletion", "CancelKeyDeletion", "ImportKeyMaterial"})


def flatten(params: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """JSON parameters as the SDK puts them in a query string: `Tags.1.Key`, booleans lower-case."""
    out: list[tuple[str, str]] = []
    for name, value in params.items():
        if isinstance(value, dict):
            out += flatten(value, f"{prefix}{name}.")
        elif isinstance(value, list):
            for i, item in enumerate(value, 1):
                out += flatten(item, f"{prefix}{name}.{i}.") if isinstance(item, dict) else \
                    flatten({str(i): item}, f"{prefix}{name}.")
        elif isinstance(value, bool):
            out.append((prefix + name, str(value).lower()))
        else:
            out.append((prefix + name, str(value)))
    return out


def http_call(action: str, params: dict[str, Any], *, repeatable: bool) -> HttpCall:
    params = {k: v for k, v in params.items() if v is not None}
    base = [("Action", action), ("Version", w.VERSION)]
    if w.METHODS[action] == "GET":
        return HttpCall("GET", "/", base + flatten(params), b"", dict(_GET_HEADERS), repeatable)
    return HttpCall("POST", "/", base, json.dumps(params, separators=(",", ":")).encode(), dict(_POST_HEADERS),
                    repeatable)


def answer(action: str, status: int, body: bytes) -> dict[str, Any]:
    """The `Result` of an answer; the typed error of an error answer. Bodies are never quoted: they may
    hold a plaintext."""
    try:
        doc = json.loads(body) if body else None
    except (ValueError, RecursionError):
        doc = None
    meta = doc.get("ResponseMetadata") if isinstance(doc, dict) else None
    if not isinstance(meta, dict):
        raise UndefinedError(f"{action} answered HTTP {status} without Volcengine's JSON envelope")
    error = meta.get("Error")
    if isinstance(error, dict):
        code = str(error.get("Code") or "UndefinedError")
        raise error_from_wire(code, str(error.get("Message") or code))
    result = doc.get("Result") if isinstance(doc, dict) else None
    if status != 200:
        raise UndefinedError(f"{action} answered HTTP {status}")
    return result if isinstance(result, dict) else {}


def throttled(status: int, body: bytes) -> bool:
    return status == 429 or (status == 403 and b"Reject.Throttling" in body)


def _no_aliases(what: str) -> InvalidParameter:
    return InvalidParameter(CAPABILITIES.lacking("aliases", what))


def _ref(key: model.KeyRef, prefix: str = "") -> dict[str, Any]:
    """A key as the API names it: KeyID, or KeyringName + KeyName (a TRN is turned into the latter)."""
    if key.key_id and key.key_id.startswith("trn:kms:"):
        keyring, name = _trn_names(key.key_id)
        return {f"{prefix}KeyringName": keyring, f"{prefix}KeyName": name}
    if key.key_id:
        return {f"{prefix}KeyID": key.key_id}
    return {f"{prefix}KeyringName": key.keyring or rules.DEFAULT_KEYRING, f"{prefix}KeyName": key.name}


def _trn_names(trn: str) -> tuple[str, str]:
    resource = trn.split(":", 5)[-1]
    parts = resource.split("/")
    if len(parts) != 4 or parts[0] != "keyrings" or parts[2] != "keys":
        raise InvalidParameter(f"KeyID {trn[:120]!r} is not a key's TRN (trn:kms:REGION:ACCOUNT:keyrings/R/keys/N)")
    return parts[1], parts[3]


def _no_project(enterprise_project: str | None) -> None:
    if enterprise_project not in (None, "", rules.DEFAULT_ENTERPRISE_PROJECT):
        raise InvalidParameter(f"enterprise_project {enterprise_project!r}: Volcengine's KMS API has no enterprise "
                               "projects; leave it 'default' with kms:dialect volcengine")


class Session:
    """The calls of one domain action in one region."""

    def __init__(self, region: str, send: Send) -> None:
        self.region = region
        self.send = send

    def call(self, action: str, params: dict[str, Any], *, repeatable: bool = True) -> dict[str, Any]:
        status, body = self.send(self.region, http_call(action, params, repeatable=repeatable))
        return answer(action, status, body)

    def describe(self, key: model.KeyRef) -> model.Key:
        described = key_from(self.call("DescribeKey", _ref(key)).get("Key"))
        return self.linked(described)

    def linked(self, key: model.Key) -> model.Key:
        """A key whose multi-region links name no state (Volcengine's answers) with each linked key
        described in its own region."""
        links = ([key.primary] if key.primary else []) + list(key.replicas)
        if all(link.state is not None for link in links):
            return key
        own = model.LinkedKey(key.key_id, key.trn, key.region, key.state)

        def fill(link: model.LinkedKey) -> model.LinkedKey:
            if link.state is not None:
                return link
            if link.trn == key.trn:
                return own
            try:
                other = Session(link.region, self.send).describe_plain(model.KeyRef(key_id=link.trn))
            except NotFound:
                # The link names the key by TRN, which holds its name: a key renamed since (one being retired
                # at this moment) is not found by it. The link stays, its state unknown.
                return link
            return model.LinkedKey(other.key_id, link.trn, link.region, other.state)

        return model.replace(key, primary=fill(key.primary) if key.primary else None,
                                   replicas=tuple(fill(r) for r in key.replicas))

    def describe_plain(self, key: model.KeyRef) -> model.Key:
        return key_from(self.call("DescribeKey", _ref(key)).get("Key"))

    def key_id(self, key: model.KeyRef) -> str:
        """The key's id: as given when it is one, else described."""
        return key.key_id if key.key_id and _UUID.match(key.key_id) else self.describe(key).key_id

    def then_describe(self, action: str, key: model.KeyRef, params: dict[str, Any], *, after: model.KeyRef | None = None
                      ) -> model.Key:
        self.call(action, {**_ref(key), **params}, repeatable=action not in _ONCE)
        return self.describe(after or key)


def _describe_keys(s: Session, a: model.DescribeKeys) -> model.KeyPage:
    size = max(1, min(a.limit, 100))
    page, skip = a.offset // size + 1, a.offset % size
    keys: list[model.Key] = []
    total = 0
    filters = [{"Key": k, "Values": list(v)} for k, v in a.tag_filters.items()] or None
    while len(keys) < a.limit:
        res = s.call("DescribeKeys", {"KeyringName": a.keyring, "CurrentPage": page, "PageSize": size,
                                      "TagFilters": filters})
        batch = [s.linked(key_from(d)) for d in res.get("Keys") or []][skip:]
        total = int((res.get("PageInfo") or {}).get("TotalCount") or 0)
        keys += batch
        skip = 0
        if not batch or page * size >= total:
            break
        page += 1
    return model.KeyPage(keys=tuple(keys[: a.limit]), total=total)


def _describe_keyrings(s: Session, a: model.DescribeKeyrings) -> model.KeyringPage:
    size = max(1, min(a.limit, 100))
    res = s.call("DescribeKeyrings", {"CurrentPage": a.offset // size + 1, "PageSize": size})
    rings = tuple(keyring_from(d) for d in res.get("Keyrings") or [])[a.offset % size:]
    return model.KeyringPage(keyrings=rings, total=int((res.get("PageInfo") or {}).get("TotalCount") or 0))


def _create_key(s: Session, a: model.CreateKey) -> model.Key:
    _no_project(a.enterprise_project)
    params = {
        "KeyringName": a.keyring or rules.DEFAULT_KEYRING, "KeyName": a.name, "KeySpec": wire_spec(a.spec),
        "KeyUsage": a.usage, "Origin": a.origin, "Description": a.description, "MultiRegion": a.multi_region,
        "Tags": tags_doc(a.tags) or None,
        "RotateState": "Enable" if a.rotation_days else None, "RotateInterval": a.rotation_days,
    }
    if not a.client_token:
        # Volcengine has no client token: an untokened create is not repeated after a lost answer.
        return s.linked(key_from(s.call("CreateKey", params, repeatable=False).get("Key")))
    # With a token the caller means "this key, once". Volcengine's key names are unique in a keyring, so
    # a repeat that finds the name taken by a key of the same spec answers that key.
    try:
        return s.linked(key_from(s.call("CreateKey", params).get("Key")))
    except Conflict:
        found = s.describe(model.KeyRef(keyring=a.keyring or rules.DEFAULT_KEYRING, name=a.name))
        if found.spec.value != a.spec:
            raise
        return found


def _replicate_key(s: Session, a: model.ReplicateKey) -> model.Key:
    # On Volcengine a replica always has its primary's keyring and name (ReplicateKey,
    # https://www.volcengine.com/docs/6476/1438471): a requested replica
    # name has no parameter to go in; the answer says the name the replica has.
    _no_project(a.enterprise_project)
    params = {**_ref(a.key), "ReplicaRegion": a.replica_region, "Description": a.description,
              "Tags": tags_doc(a.tags) or None}
    return s.linked(key_from(s.call("ReplicateKey", params, repeatable=False).get("ReplicaKey")))


def _update_key(s: Session, a: model.UpdateKey) -> model.Key:
    _no_project(a.enterprise_project)
    after = a.key if a.key.key_id or not a.new_name else model.replace(a.key, name=a.new_name)
    return s.then_describe("UpdateKey", a.key, {"NewKeyName": a.new_name, "Description": a.description}, after=after)


def _schedule(s: Session, a: model.ScheduleKeyDeletion) -> model.Key:
    key = s.then_describe("ScheduleKeyDeletion", a.key, {"PendingWindowInDays": a.pending_days})
    return model.replace(key, pending_days=a.pending_days) if a.pending_days else key


def _tag(s: Session, action: str, key: model.KeyRef, params: dict[str, Any]) -> model.Key:
    key_id = s.key_id(key)
    s.call(action, {"ResourceType": RESOURCE_TYPE, "ResourceIds": [key_id], **params})
    return s.describe(model.KeyRef(key_id=key_id))


def _encrypt(s: Session, a: model.Encrypt) -> model.Ciphertext:
    if a.algorithm:
        res = s.call("AsymmetricEncrypt", {**_ref(a.key), "Plaintext": b64(a.plaintext), "Algorithm": a.algorithm})
        return model.Ciphertext(key_id=str(res.get("KeyID") or ""), ciphertext=unb64(res.get("CiphertextBlob"),
                                                                                    "CiphertextBlob"))
    res = s.call("Encrypt", {**_ref(a.key), "Plaintext": b64(a.plaintext), "EncryptionContext": a.context})
    return model.Ciphertext(key_id=s.key_id(a.key), ciphertext=unb64(res.get("CiphertextBlob"), "CiphertextBlob"))


def _decrypt(s: Session, a: model.Decrypt) -> model.Plaintext:
    if a.algorithm and a.key is not None:
        res = s.call("AsymmetricDecrypt", {**_ref(a.key), "CiphertextBlob": b64(a.ciphertext),
                                           "Algorithm": a.algorithm})
        return model.Plaintext(key_id=str(res.get("KeyID") or ""), plaintext=unb64(res.get("Plaintext"), "Plaintext"))
    # A symmetric ciphertext names its key itself: Volcengine's Decrypt takes no key (DecryptRequest holds
    # CiphertextBlob and EncryptionContext) and its DecryptResponse names none (Plaintext alone). So the
    # answer says no key: the caller's key is not claimed as the opener, since nothing checked it.
    try:
        res = s.call("Decrypt", {"CiphertextBlob": b64(a.ciphertext), "EncryptionContext": a.context})
    except (InvalidParameter, NotFound):
        # Not a symmetric ciphertext (no symmetric key opens it): an RSA key the caller named opens it with
        # the default algorithm.
        if a.key is None or s.describe(a.key).spec not in rules.RSA_SPECS:
            raise
        return _decrypt(s, model.replace(a, algorithm=DEFAULT_RSA_ALGORITHM))
    return model.Plaintext(key_id="", plaintext=unb64(res.get("Plaintext"), "Plaintext"))


def _data_key(s: Session, a: model.GenerateDataKey) -> model.DataKey:
    # Volcengine has no GenerateDataKeyWithoutPlaintext: the plaintext is dropped here instead.
    res = s.call("GenerateDataKey", {**_ref(a.key), "NumberOfBytes": a.number_of_bytes,
                                     "EncryptionContext": a.context})
    plaintext = unb64(res.get("Plaintext"), "Plaintext") if a.with_plaintext else None
    return model.DataKey(key_id=s.key_id(a.key), ciphertext=unb64(res.get("CiphertextBlob"), "CiphertextBlob"),
                         plaintext=plaintext)


def _re_encrypt(s: Session, a: model.ReEncrypt) -> model.Ciphertext:
    res = s.call("ReEncrypt", {"CiphertextBlob": b64(a.ciphertext), **_ref(a.new_key, "New"),
                               "OldEncryptionContext": a.old_context, "NewEncryptionContext": a.new_context})
    return model.Ciphertext(key_id=s.key_id(a.new_key), ciphertext=unb64(res.get("CiphertextBlob"), "CiphertextBlob"))


def _sign(s: Session, a: model.Sign) -> model.Signature:
    res = s.call("AsymmetricSign", {**_ref(a.key), "Message": b64(a.message), "Algorithm": a.algorithm,
                                    "MessageType": "DIGEST" if a.digest else "RAW"})
    return model.Signature(key_id=str(res.get("KeyID") or ""), signature=unb64(res.get("Signature"), "Signature"),
                           algorithm=a.algorithm)


def _verify(s: Session, a: model.Verify) -> model.Verdict:
    res = s.call("AsymmetricVerify", {**_ref(a.key), "Message": b64(a.message), "Signature": b64(a.signature),
                                      "Algorithm": a.algorithm, "MessageType": "DIGEST" if a.digest else "RAW"})
    return model.Verdict(key_id=str(res.get("KeyID") or ""), valid=bool(res.get("SignatureValid")))


def _public_key(s: Session, a: model.GetPublicKey) -> model.PublicKey:
    res = s.call("GetPublicKey", _ref(a.key))
    key = s.describe(model.KeyRef(key_id=str(res.get("KeyID")))) if res.get("KeyID") else s.describe(a.key)
    return model.PublicKey(key_id=key.key_id, pem=str(res.get("PublicKey") or ""), spec=key.spec, usage=key.usage)


def _mac_algorithm(s: Session, key: model.KeyRef, algorithm: str | None) -> str:
    """Volcengine requires MacAlgorithm; when the caller leaves it to the key, the key's spec names it."""
    if algorithm:
        return algorithm
    # Imported here: the emulator's package is no part of a client's start-up.
    from ...emulator.primitives import MAC_ALGORITHMS

    spec = s.describe(key).spec
    if spec not in MAC_ALGORITHMS:
        raise InvalidParameter(f"key {key.label} is a {spec} key; MACs take an HMAC key")
    return MAC_ALGORITHMS[spec][0]


def _mac(s: Session, a: model.GenerateMac) -> model.Mac:
    res = s.call("GenerateMac", {**_ref(a.key), "Message": b64(a.message),
                                 "MacAlgorithm": _mac_algorithm(s, a.key, a.algorithm)})
    return model.Mac(key_id=str(res.get("KeyID") or ""), mac=unb64(res.get("Mac"), "Mac"))


def _verify_mac(s: Session, a: model.VerifyMac) -> model.Verdict:
    res = s.call("VerifyMac", {**_ref(a.key), "Message": b64(a.message), "Mac": b64(a.mac),
                               "MacAlgorithm": _mac_algorithm(s, a.key, a.algorithm)})
    return model.Verdict(key_id=str(res.get("KeyID") or ""), valid=bool(res.get("MacValid")))


def _import_parameters(s: Session, a: model.GetParametersForImport) -> model.ImportParameters:
    res = s.call("GetParametersForImport", {**_ref(a.key), "WrappingAlgorithm": a.wrapping_algorithm,
                                            "WrappingKeySpec": a.wrapping_key_spec})
    return model.ImportParameters(
        key_id=str(res.get("KeyID") or s.key_id(a.key)), import_token=str(res.get("ImportToken") or ""),
        public_key_der=unb64(res.get("PublicKey"), "PublicKey"),
        valid_to=from_rfc3339(res.get("TokenExpireTime")) or 0.0, wrapping_algorithm=a.wrapping_algorithm)


def _update_keyring(s: Session, a: model.UpdateKeyring) -> model.Keyring:
    s.call("UpdateKeyring", {"KeyringName": a.name, "Description": a.description})
    return keyring_from(s.call("QueryKeyring", {"KeyringName": a.name}).get("Keyring"))


def _done(s: Session, action: str, params: dict[str, Any]) -> model.Done:
    s.call(action, params, repeatable=False)
    return model.Done()


def _advance_clock(s: Session, a: model.AdvanceClock) -> model.Clock:
    """The emulator's own path, outside Volcengine's API (see emulator_clock)."""

    def error_of(status: int, body: bytes) -> KmsError:
        try:
            answer("AdvanceClock", status, body)
        except KmsError as err:
            return err
        return UndefinedError(f"AdvanceClock answered HTTP {status}")

    status, body = s.send(s.region, emulator_clock.http_call(a.seconds))
    return emulator_clock.read(status, body, error_of)


def _refuse_alias(s: Session, a: model.Action) -> model.Result:
    raise _no_aliases(a.action_name())


_HANDLERS: dict[type[model.Action], Callable[[Session, Any], model.Result]] = {
    model.CreateKey: _create_key,
    model.DescribeKey: lambda s, a: s.describe(a.key),
    model.DescribeKeys: _describe_keys,
    model.UpdateKey: _update_key,
    model.EnableKey: lambda s, a: s.then_describe("EnableKey", a.key, {}),
    model.DisableKey: lambda s, a: s.then_describe("DisableKey", a.key, {}),
    model.ScheduleKeyDeletion: _schedule,
    model.CancelKeyDeletion: lambda s, a: s.then_describe("CancelKeyDeletion", a.key, {}),
    model.ReplicateKey: _replicate_key,
    model.EnableKeyRotation: lambda s, a: s.then_describe("EnableKeyRotation", a.key,
                                                          {"RotateInterval": a.rotation_days}),
    model.DisableKeyRotation: lambda s, a: s.then_describe("DisableKeyRotation", a.key, {}),
    model.TagKey: lambda s, a: _tag(s, "TagResources", a.key, {"Tags": tags_doc(a.tags)}),
    model.UntagKey: lambda s, a: _tag(s, "UntagResources", a.key, {"TagKeys": list(a.tag_keys)}),
    model.CreateKeyring: lambda s, a: keyring_from(
        s.call("CreateKeyring", {"KeyringName": a.name, "Description": a.description}, repeatable=False)
        .get("Keyring")),
    model.DescribeKeyrings: _describe_keyrings,
    model.UpdateKeyring: _update_keyring,
    model.DeleteKeyring: lambda s, a: _done(s, "DeleteKeyring", {"KeyringName": a.name}),
    model.Encrypt: _encrypt,
    model.Decrypt: _decrypt,
    model.GenerateDataKey: _data_key,
    model.ReEncrypt: _re_encrypt,
    model.Sign: _sign,
    model.Verify: _verify,
    model.GetPublicKey: _public_key,
    model.GenerateMac: _mac,
    model.VerifyMac: _verify_mac,
    model.GetParametersForImport: _import_parameters,
    model.ImportKeyMaterial: lambda s, a: s.then_describe(
        "ImportKeyMaterial", a.key, {"ImportToken": a.import_token, "EncryptedKeyMaterial": b64(a.encrypted_material)}),
    # Volcengine's KMS API has no aliases: refused here, never sent.
    model.CreateAlias: _refuse_alias,
    model.UpdateAlias: _refuse_alias,
    model.DeleteAlias: _refuse_alias,
    model.ListAliases: _refuse_alias,
    model.AdvanceClock: _advance_clock,
}


def execute(region: str, action: model.Action, send: Send) -> model.Result:
    handler = _HANDLERS.get(type(action))
    if handler is None:
        raise InvalidParameter(f"{action.action_name()} has no form in Volcengine's KMS API")
    return handler(Session(region, send), action)
