"""Client side: one domain action as the Huawei Cloud KMS calls that do it.

Huawei's API answers less than the domain's objects hold (enable-key answers the state, create-key
the id), so a changing action is followed by describe-key. Every body carries only fields of the
SDK's request model, typed as that model says (tests/huawei checks each against it).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from ...domain import model, rules
from ...domain.errors import Conflict, InvalidParameter, NotFound, UndefinedError
from ...domain.rules import DEFAULT_KEYRING, PENDING_DAYS_DEFAULT
from ...values import Value
from .. import HttpCall, Send, emulator_clock
from . import codec

PAGE = 100
NAME = "huaweicloud"


def _no_keyring(keyring: str | None, what: str) -> None:
    if keyring not in (None, "", DEFAULT_KEYRING):
        raise InvalidParameter(
            f"{what} '{keyring}': Huawei Cloud KMS has no keyrings; leave keyring_name unset (or 'default')"
        )


_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_URN_ID = re.compile(r":key/([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$")


class Session(Value):
    """The calls of one action in one region (`project` is that region's project id). A Value: importing
    dataclasses would cost `kmsctl` through an endpoint a third of a bare interpreter's start."""

    region: str
    project: str
    send: Send
    projects: Mapping[str, str]

    def project_of(self, region: str) -> str:
        return self.projects.get(region, region)

    def call(
        self, op: str, body: Mapping[str, Any] | None = None, *, method: str = "POST", version: str = "v1.0",
        query: list[tuple[str, str]] | None = None, repeatable: bool = True, region: str | None = None,
    ) -> Any:
        project = self.project if region is None else self.project_of(region)
        payload = b"" if body is None else json.dumps({k: v for k, v in body.items() if v is not None}).encode()
        call = HttpCall(
            method=method, path=f"/{version}/{project}/kms/{op}", query=query or [], body=payload,
            headers={"Content-Type": "application/json", "X-Project-Id": project}, repeatable=repeatable,
        )
        status, answer = self.send(self.region if region is None else region, call)
        if status >= 400:
            raise codec.read_error(status, answer)
        if not answer.strip():
            return {}
        try:
            return json.loads(answer)
        except ValueError:
            raise UndefinedError(f"the answer to {op} is not JSON ({status})") from None

    # --- naming keys --------------------------------------------------------------------------------
    def key_id(self, ref: model.KeyRef) -> str:
        """The key id (a UUID) that Huawei's key_id parameters take, for an id, an alias or a key URN/TRN:
        the API reference defines key_id as the key's 36-byte id, so a name is resolved before it is sent."""
        if not ref.key_id:
            _no_keyring(ref.keyring, "keyring_name")
            raise InvalidParameter(
                f"key '{ref.label}': Huawei Cloud KMS names keys by key id (or alias), not by keyring and name"
            )
        given = ref.key_id
        if _UUID.match(given):
            return given
        if given.startswith(rules.ALIAS_PREFIX):
            found = next((a for a in _aliases(self, None) if a.name == given), None)
            if found is None:
                raise NotFound(f"Not found key [{given}] in region {self.region}: no such alias")
            return found.key_id
        if urn := _URN_ID.search(given):
            return urn.group(1)
        return given  # not a form we know: the cloud answers for it

    # --- keys ---------------------------------------------------------------------------------------
    def describe(self, key_id: str, region: str | None = None) -> model.Key:
        info = self.call("describe-key", {"key_id": key_id}, region=region)["key_info"]
        tags = None
        if "tags" not in info:  # a real cloud's describe-key carries no tags: ask for them
            found = self.call(f"{info['key_id']}/tags", method="GET", region=region)
            tags = {t["key"]: t.get("value") or "" for t in found.get("tags") or ()}
        rotation = None
        if str(info.get("key_rotation_enabled")).lower() == "true" and "rotation_interval" not in info:
            # KeyDetails has no rotation interval; get-key-rotation-status answers it (and the last rotation).
            rotation = self.call("get-key-rotation-status", {"key_id": info["key_id"]}, region=region)
        return codec.read_key(info, tags, rotation)

    def all_keys(self) -> list[model.Key]:
        out: list[model.Key] = []
        while True:
            page = self.keys(model.DescribeKeys(offset=len(out), limit=PAGE))
            out.extend(page.keys)
            if not page.keys or len(out) >= page.total:
                return out

    def keys(self, action: model.DescribeKeys) -> model.KeyPage:
        _no_keyring(action.keyring, "keyring_name")
        if action.tag_filters:
            raise InvalidParameter("tag filters: list-keys of Huawei Cloud KMS takes none; filter the keys' tags")
        body = {"limit": str(action.limit), "marker": str(action.offset) if action.offset else None, "key_spec": "ALL"}
        found = self.call("list-keys", body)
        details = found.get("key_details") or []
        return model.KeyPage(keys=tuple(codec.read_key(d) for d in details), total=int(found.get("total") or 0))


def _create(s: Session, a: model.CreateKey) -> model.Result:
    _no_keyring(a.keyring, "keyring_name")
    body = {
        "key_alias": a.name, "key_spec": a.spec, "key_usage": a.usage,
        "origin": codec.origin_to_wire(a.origin),
        "key_description": a.description,
        "enterprise_project_id": codec.enterprise_project_to_wire(a.enterprise_project),
    }
    # Huawei has no client token (`sequence` is a trace id). With a token the caller means "this key,
    # once": key names are unique in a region, so a repeat that finds the name taken by a key of the
    # same spec answers that key. Without one, a create is not repeated after a lost answer.
    try:
        key_id = s.call("create-key", body, repeatable=bool(a.client_token))["key_info"]["key_id"]
    except Conflict:
        if not a.client_token:
            raise
        found = next((k for k in s.all_keys() if k.name == a.name and k.spec.value == a.spec), None)
        if found is None:
            raise
        return found
    if a.tags:
        _tag(s, key_id, a.tags, "create")
    if a.rotation_days is not None:
        _rotate(s, key_id, a.rotation_days)
    return s.describe(key_id)


def _tag(s: Session, key_id: str, tags: Mapping[str, str], action: str) -> None:
    items = [{"key": k, "value": v} if action == "create" else {"key": k} for k, v in tags.items()]
    s.call(f"{key_id}/tags/action", {"tags": items, "action": action})


def _rotate(s: Session, key_id: str, days: int | None) -> None:
    s.call("enable-key-rotation", {"key_id": key_id})
    if days is not None:
        s.call("update-key-rotation-interval", {"key_id": key_id, "rotation_interval": days})


def _update(s: Session, a: model.UpdateKey) -> model.Result:
    key_id = s.key_id(a.key)
    if a.enterprise_project is not None:
        current = s.describe(key_id)
        if current.enterprise_project != a.enterprise_project:
            raise InvalidParameter(
                f"enterprise_project: Huawei Cloud KMS cannot move key {current.key_id} from enterprise project "
                f"'{current.enterprise_project}' to '{a.enterprise_project}'; move it in the Enterprise Project service"
            )
    if a.new_name is not None:
        s.call("update-key-alias", {"key_id": key_id, "key_alias": a.new_name})
    if a.description is not None:
        s.call("update-key-description", {"key_id": key_id, "key_description": a.description})
    return s.describe(key_id)


def _then_describe(op: str, extra: Callable[[Any], Mapping[str, Any]] | None = None) -> Callable[[Session, Any], Any]:
    def run(s: Session, a: Any) -> model.Result:
        key_id = s.key_id(a.key)
        s.call(op, {"key_id": key_id, **(extra(a) if extra else {})})
        return s.describe(key_id)

    return run


def _replicate(s: Session, a: model.ReplicateKey) -> model.Result:
    key_id = s.key_id(a.key)
    primary = s.describe(key_id)  # the path names the key by id; an alias resolves first
    try:
        found = _replicate_call(s, primary, a)
    except Conflict:
        # With a token, a repeat that finds the replica it made answers it (see _create). No answer names a
        # primary's replicas, so the replica is the key of that region with the name this call gave it and
        # the primary's spec.
        if not a.client_token:
            raise
        there = Session(a.replica_region, s.project_of(a.replica_region), s.send, s.projects)
        name = a.replica_name or primary.name
        standing = next((k for k in there.all_keys() if k.name == name and k.spec == primary.spec
                         and k.state != rules.KeyState.PENDING_DELETE), None)
        if standing is None:
            raise
        return _as_replica(standing, primary)
    # No answer names a replica's primary (ReplicateKeyResponse is key_id, domain_id, region; KeyDetails has
    # no link): what this call made is known here, and said so.
    return _as_replica(s.describe(found["key_id"], region=a.replica_region), primary)


def _as_replica(replica: model.Key, primary: model.Key) -> model.Key:
    link = model.LinkedKey(primary.key_id, primary.trn, primary.region, primary.state)
    return model.replace(replica, multi_region_type=rules.MultiRegionType.REPLICA, primary=link)


def _replicate_call(s: Session, primary: model.Key, a: model.ReplicateKey) -> Any:
    # key_alias is required by Huawei's API reference: without a name from the caller the replica takes its
    # primary's (names are unique per region, and the replica lives in another).
    return s.call(f"keys/{primary.key_id}/replicate", {
        "key_id": primary.key_id, "replica_region": a.replica_region, "key_alias": a.replica_name or primary.name,
        "key_description": a.description,
        "enterprise_project_id": codec.enterprise_project_to_wire(a.enterprise_project),
        "replica_project_id": s.project_of(a.replica_region),
        "tags": [{"key": k, "value": v} for k, v in a.tags.items()] or None,
    }, version="v2", repeatable=bool(a.client_token))


def _enable_rotation(s: Session, a: model.EnableKeyRotation) -> model.Result:
    key_id = s.key_id(a.key)
    _rotate(s, key_id, a.rotation_days)
    return s.describe(key_id)


def _tags(s: Session, a: model.TagKey | model.UntagKey) -> model.Result:
    key_id = s.describe(s.key_id(a.key)).key_id  # tag paths take the id
    if isinstance(a, model.TagKey):
        if a.tags:
            _tag(s, key_id, a.tags, "create")
    elif a.tag_keys:
        _tag(s, key_id, dict.fromkeys(a.tag_keys, ""), "delete")
    return s.describe(key_id)


def _alias(s: Session, raw: Mapping[str, Any]) -> model.Alias:
    return codec.read_alias(raw, s.region)


def _aliases(s: Session, key_id: str | None) -> list[model.Alias]:
    """Every alias of the region (of one key when `key_id` is given), all pages."""
    out: list[model.Alias] = []
    marker: str | None = None
    while True:
        query = [("limit", str(PAGE))]
        if key_id is not None:
            query.append(("key_id", key_id))
        if marker:
            query.append(("marker", marker))
        answer = s.call("aliases", method="GET", query=query)
        found = answer[0] if isinstance(answer, list) and answer else answer or {}  # the SDK reads either
        out.extend(_alias(s, x) for x in found.get("aliases") or ())
        marker = (found.get("page_info") or {}).get("next_marker")
        if not marker:
            return out


def _list_aliases(s: Session, a: model.ListAliases) -> model.Result:
    return tuple(_aliases(s, s.key_id(a.key) if a.key is not None else None))


def _delete_alias(s: Session, a: model.DeleteAlias) -> model.Result:
    # DeleteAliasRequestBody: key_id and aliases, both required in Huawei's API reference.
    if a.key is not None:
        key_id = s.key_id(a.key)
    else:
        found = next((x for x in _aliases(s, None) if x.name == a.alias), None)
        if found is None:
            raise NotFound(f"Not found alias [{a.alias}] in region {s.region}")
        key_id = found.key_id
    s.call("aliases", {"key_id": key_id, "aliases": [a.alias]}, method="DELETE")
    return model.Done()


def _encrypt(s: Session, a: model.Encrypt) -> model.Result:
    key_id = s.key_id(a.key)
    aad = codec.context_to_aad(a.context)
    try:
        text = a.plaintext.decode()
    except UnicodeDecodeError:
        text = None
    if text is not None and a.plaintext and not a.data_key:
        found = s.call("encrypt-data", {
            "key_id": key_id, "plain_text": text, "encryption_algorithm": a.algorithm,
            "additional_authenticated_data": aad,
        })
        return model.Ciphertext(key_id=found["key_id"], ciphertext=base64.b64decode(found["cipher_text"]))
    # Bytes that are not text (a data key): encrypt-datakey takes them in hex with their SHA-256.
    found = s.call("encrypt-datakey", {
        "key_id": key_id, "plain_text": (a.plaintext + hashlib.sha256(a.plaintext).digest()).hex(),
        "datakey_plain_length": str(len(a.plaintext)), "additional_authenticated_data": aad,
    })
    return model.Ciphertext(key_id=found["key_id"], ciphertext=bytes.fromhex(found["cipher_text"]))


def _decrypt(s: Session, a: model.Decrypt) -> model.Result:
    if a.data_key:
        return _decrypt_datakey(s, a)
    found = s.call("decrypt-data", {
        "cipher_text": base64.b64encode(a.ciphertext).decode(), "key_id": s.key_id(a.key) if a.key else None,
        "encryption_algorithm": a.algorithm, "additional_authenticated_data": codec.context_to_aad(a.context),
    })
    b64 = found.get("plain_text_base64")
    plain = base64.b64decode(b64) if b64 else str(found.get("plain_text") or "").encode()
    return model.Plaintext(key_id=found["key_id"], plaintext=plain)


def _decrypt_datakey(s: Session, a: model.Decrypt) -> model.Result:
    """A data key made by create-datakey or encrypt-datakey opens with decrypt-datakey (Huawei's API
    reference and the SDK's DecryptDatakeyRequestBody): key_id is required, the ciphertext goes in hex."""
    if a.key is None:
        raise InvalidParameter("decrypt-datakey: Huawei Cloud KMS needs the key that wrapped the data key (key_id)")
    key_id = s.key_id(a.key)
    found = s.call("decrypt-datakey", {
        "key_id": key_id, "cipher_text": a.ciphertext.hex(), "datakey_cipher_length": str(len(a.ciphertext)),
        "additional_authenticated_data": codec.context_to_aad(a.context),
    })
    try:
        raw = bytes.fromhex(str(found["data_key"]))
        length = int(found.get("datakey_length") or len(raw))
    except (KeyError, ValueError):
        raise UndefinedError("the answer to decrypt-datakey holds no data key in hex") from None
    # The answer names no key: the key is the one the request named, which the service used.
    return model.Plaintext(key_id=key_id, plaintext=raw[:length])


def _data_key(s: Session, a: model.GenerateDataKey) -> model.Result:
    op = "create-datakey" if a.with_plaintext else "create-datakey-without-plaintext"
    found = s.call(op, {
        "key_id": s.key_id(a.key), "datakey_length": None if a.number_of_bytes is None else str(a.number_of_bytes * 8),
        "additional_authenticated_data": codec.context_to_aad(a.context),
    })
    plain = found.get("plain_text")
    return model.DataKey(
        key_id=found["key_id"], ciphertext=bytes.fromhex(found["cipher_text"]),
        plaintext=bytes.fromhex(plain) if plain is not None and a.with_plaintext else None,
    )


def _re_encrypt(s: Session, a: model.ReEncrypt) -> model.Result:
    found = s.call("re-encrypt", {
        "cipher_text": base64.b64encode(a.ciphertext).decode(), "destination_key_id": s.key_id(a.new_key),
        "source_additional_authenticated_data": codec.context_to_aad(a.old_context),
        "destination_additional_authenticated_data": codec.context_to_aad(a.new_context),
    })
    return model.Ciphertext(
        key_id=found["key_id"], ciphertext=base64.b64decode(found["cipher_text"]),
        source_key_id=found.get("source_key_id"),
    )


def _sign(s: Session, a: model.Sign) -> model.Result:
    found = s.call("sign", {
        "key_id": s.key_id(a.key), "message": base64.b64encode(a.message).decode(), "signing_algorithm": a.algorithm,
        "message_type": "DIGEST" if a.digest else "RAW",
    })
    signature = base64.b64decode(found["signature"])
    return model.Signature(key_id=found["key_id"], signature=signature, algorithm=a.algorithm)


def _verify(s: Session, a: model.Verify) -> model.Result:
    found = s.call("verify", {
        "key_id": s.key_id(a.key), "message": base64.b64encode(a.message).decode(),
        "signature": base64.b64encode(a.signature).decode(), "signing_algorithm": a.algorithm,
        "message_type": "DIGEST" if a.digest else "RAW",
    })
    return model.Verdict(key_id=found["key_id"], valid=str(found.get("signature_valid")).lower() == "true")


def _mac_algorithm(s: Session, key: model.KeyRef, algorithm: str | None) -> tuple[str, str]:
    """Huawei needs mac_algorithm; the domain may leave it to the key's spec."""
    key_id = s.key_id(key)
    if algorithm:
        return key_id, algorithm
    # Imported here: the emulator's package is no part of a client's start-up.
    from ...emulator.primitives import MAC_ALGORITHMS

    spec = s.describe(key_id).spec
    if spec not in MAC_ALGORITHMS:
        raise InvalidParameter(f"key {key_id} is a {spec} key; MACs take an HMAC key")
    return key_id, MAC_ALGORITHMS[spec][0]


def _mac(s: Session, a: model.GenerateMac) -> model.Result:
    key_id, algorithm = _mac_algorithm(s, a.key, a.algorithm)
    found = s.call("generate-mac", {
        "key_id": key_id, "mac_algorithm": algorithm, "message": base64.b64encode(a.message).decode(),
    })
    return model.Mac(key_id=found["key_id"], mac=base64.b64decode(found["mac"]))


def _verify_mac(s: Session, a: model.VerifyMac) -> model.Result:
    key_id, algorithm = _mac_algorithm(s, a.key, a.algorithm)
    found = s.call("verify-mac", {
        "key_id": key_id, "mac_algorithm": algorithm, "message": base64.b64encode(a.message).decode(),
        "mac": base64.b64encode(a.mac).decode(),
    })
    return model.Verdict(key_id=found["key_id"], valid=found.get("mac_valid") is True)


def _public_key(s: Session, a: model.GetPublicKey) -> model.Result:
    key = s.describe(s.key_id(a.key))
    found = s.call("get-publickey", {"key_id": key.key_id})
    return model.PublicKey(key_id=found["key_id"], pem=found["public_key"], spec=key.spec, usage=key.usage)


def _import_parameters(s: Session, a: model.GetParametersForImport) -> model.Result:
    found = s.call("get-parameters-for-import", {"key_id": s.key_id(a.key), "wrapping_algorithm": a.wrapping_algorithm})
    return model.ImportParameters(
        key_id=found["key_id"], import_token=found["import_token"],
        public_key_der=base64.b64decode(found["public_key"]), valid_to=float(found["expiration_time"]),
        wrapping_algorithm=a.wrapping_algorithm,
    )


def _import(s: Session, a: model.ImportKeyMaterial) -> model.Result:
    key_id = s.key_id(a.key)
    s.call("import-key-material", {
        "key_id": key_id, "import_token": a.import_token,
        "encrypted_key_material": base64.b64encode(a.encrypted_material).decode(),
    })
    return s.describe(key_id)


def _no_keyrings(s: Session, a: model.Action) -> model.Result:
    raise InvalidParameter(f"{a.action_name()}: Huawei Cloud KMS has no keyrings")


def _unsupported(s: Session, a: model.Action) -> model.Result:
    raise InvalidParameter(f"{a.action_name()} is not an action of Huawei Cloud KMS that this provider speaks")


def _advance_clock(s: Session, a: model.AdvanceClock) -> model.Clock:
    """The emulator's own path, outside Huawei Cloud's API (see emulator_clock)."""
    status, body = s.send(s.region, emulator_clock.http_call(a.seconds, {"X-Project-Id": s.project}))
    return emulator_clock.read(status, body, codec.read_error)


HANDLERS: dict[type[model.Action], Callable[[Session, Any], model.Result]] = {
    model.CreateKey: _create,
    model.DescribeKey: lambda s, a: s.describe(s.key_id(a.key)),
    model.DescribeKeys: lambda s, a: s.keys(a),
    model.UpdateKey: _update,
    model.EnableKey: _then_describe("enable-key"),
    model.DisableKey: _then_describe("disable-key"),
    model.ScheduleKeyDeletion: _then_describe(
        "schedule-key-deletion", lambda a: {"pending_days": str(a.pending_days or PENDING_DAYS_DEFAULT)}
    ),
    model.CancelKeyDeletion: _then_describe("cancel-key-deletion"),
    model.ReplicateKey: _replicate,
    model.EnableKeyRotation: _enable_rotation,
    model.DisableKeyRotation: _then_describe("disable-key-rotation"),
    model.TagKey: _tags,
    model.UntagKey: _tags,
    model.CreateAlias: lambda s, a: _alias(s, s.call("aliases", {"key_id": s.key_id(a.key), "alias": a.alias})),
    model.UpdateAlias: lambda s, a: _alias(
        s, s.call("alias/associate", {"alias": a.alias, "target_key_id": s.key_id(a.key)})
    ),
    model.DeleteAlias: _delete_alias,
    model.ListAliases: _list_aliases,
    model.Encrypt: _encrypt,
    model.Decrypt: _decrypt,
    model.GenerateDataKey: _data_key,
    model.Sign: _sign,
    model.Verify: _verify,
    model.GenerateMac: _mac,
    model.VerifyMac: _verify_mac,
    model.GetPublicKey: _public_key,
    model.GetParametersForImport: _import_parameters,
    model.ImportKeyMaterial: _import,
    model.AdvanceClock: _advance_clock,
    model.CreateKeyring: _no_keyrings,
    model.DescribeKeyrings: _no_keyrings,
    model.UpdateKeyring: _no_keyrings,
    model.DeleteKeyring: _no_keyrings,
    model.ReEncrypt: _re_encrypt,
}


def execute(region: str, action: model.Action, send: Send, projects: Mapping[str, str],
            catalog: rules.RegionCatalog | None = None) -> model.Result:
    (catalog or rules.catalog(NAME)).region(region)  # before a project id is made of it
    if projects and region not in projects:
        # With project ids configured (a real account) a region without one has no path to name it.
        raise InvalidParameter(
            f"kms:projectIds / KMS_PROJECT_IDS has no project id for region {region}; add {region}=<project id>"
        )
    handler = HANDLERS.get(type(action), _unsupported)
    return handler(Session(region, projects.get(region, region), send, projects), action)
