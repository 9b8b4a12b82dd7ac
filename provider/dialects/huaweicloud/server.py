"""Server side: Huawei Cloud KMS requests into domain actions, domain results into its JSON.

`HANDLERS` is the table: one `Handler(parse, shape)` per SDK method this emulator serves, keyed by the
method's name. Everything else of an operation comes from the SDK's generated models (`Route`): its HTTP
method and path, the fields of its request model (anything else is refused, naming the field) and their
types. A shape answers its response model's JSON (strings where the model says `str`, JSON booleans where
it says `bool`). The operations and their paths: Huawei Cloud's KMS API reference
(https://support.huaweicloud.com/intl/en-us/api-dew/dew_02_0001.html).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import itertools
import os
import re
import typing
from collections.abc import Callable, Mapping, Sequence
from functools import cache
from typing import Any, NamedTuple

# At import, not inside the functions that use it: _typed checks a request's fields on most requests. This
# module is the server half alone (HuaweiCloud.served() loads it), as volcengine/server.py's request models are.
from pydantic import BaseModel, ValidationError

from ...domain import model, rules
from ...domain.errors import InvalidParameter, KmsError
from ...domain.rules import DATA_KEY_BYTES_MAX
from .. import Call, Handler, Parsed, Results, WireRequest, WireResponse
from ..json_body import read_json, write_json
from . import codec, signer
from .codec import BadJson, HuaweiInvalid, MissingParameter

PATH_RE = re.compile(r"^/(?P<version>v1\.0|v2)/(?P<project>[^/]+)/kms(?P<rest>/.*)?$")
# AES_128 and AES_256 data keys of create-datakey's key_spec, in bytes.
DATAKEY_SPECS = {"AES_256": 32, "AES_128": 16}


class Fields:
    """The request's parameters, read with the types of the SDK's request model."""

    def __init__(self, op: str, raw: Mapping[str, Any], allowed: frozenset[str], path: Mapping[str, str],
                 region_of_project: Callable[[str], str]) -> None:
        unknown = sorted(set(raw) - allowed)
        if unknown:
            raise InvalidParameter(
                f"{op} takes no parameter {', '.join(unknown)}; it takes {', '.join(sorted(allowed)) or 'none'}"
            )
        self.op, self.raw, self.path = op, raw, path
        self.region_of_project = region_of_project  # as this server's configuration maps project ids

    def text(self, name: str, required: bool = False) -> str | None:
        value = self.raw.get(name)
        if value is None:
            if required:
                raise MissingParameter(f"{self.op} needs {name}")
            return None
        if not isinstance(value, str):
            raise HuaweiInvalid(f"{name} must be a string, not {type(value).__name__}")
        return value

    def need(self, name: str) -> str:
        value = self.text(name, required=True)
        assert value is not None
        return value

    def number(self, name: str, required: bool = False) -> int | None:
        """A whole number: the SDK sends most as a string of digits (its model's `str`)."""
        value = self.raw.get(name)
        if value is None and not required:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.isdigit():
            return int(value)
        if value is None:
            raise MissingParameter(f"{self.op} needs {name}")
        raise HuaweiInvalid(f"{name} must be a whole number, not {value!r}")

    def base64(self, name: str) -> bytes:
        try:
            return base64.b64decode(self.need(name), validate=True)
        except (binascii.Error, ValueError):
            raise HuaweiInvalid(f"{name} is not valid base64") from None

    def hexbytes(self, name: str) -> bytes:
        try:
            return bytes.fromhex(self.need(name))
        except ValueError:
            raise HuaweiInvalid(f"{name} is not a hexadecimal string") from None

    def key(self, name: str = "key_id") -> model.KeyRef:
        return key_ref(self.path.get(name) or self.need(name))

    def tags(self, name: str = "tags") -> list[tuple[Any, Any]]:
        items = self.raw.get(name) or []
        if not isinstance(items, list) or not all(isinstance(t, dict) for t in items):
            raise HuaweiInvalid(f"{name} must be a list of {{key, value}} objects")
        return [(t.get("key"), t.get("value") or "") for t in items]  # rules.tags checks the types

    def context(self) -> dict[str, str] | None:
        return codec.aad_to_context(self.text("additional_authenticated_data"))


class Reply(typing.NamedTuple):
    """An operation's answer (a tuple: one is made per request)."""

    status: int
    body: Any  # JSON value; None answers an empty body


Parse = Callable[[Call], Parsed]


_REFS: dict[str, model.KeyRef] = {}
_REFS_KEPT = 4096


def key_ref(key_id: str) -> model.KeyRef:
    """The KeyRef naming a key id: kept per id (immutable; a client names the same few keys request after
    request), at most _REFS_KEPT of them."""
    ref = _REFS.get(key_id)
    if ref is None:
        if len(_REFS) >= _REFS_KEPT:
            _REFS.clear()
        ref = _REFS[key_id] = model.KeyRef(key_id=key_id)
    return ref


class Route(NamedTuple):
    """Where an SDK method is served: its HTTP method, path and request model's fields, all from the generated
    models (models.py, made from `huaweicloudsdkkms` by scripts/generate_wire_models.py)."""

    name: str  # the SDK's method
    method: str
    version: str
    path: re.Pattern[str]  # after /{version}/{project_id}/kms
    fields: frozenset[str]  # of the body model, or the query parameters
    request: type[BaseModel]  # the SDK's {Method}Request, generated
    body: type[BaseModel] | None  # its `body` model; None: the parameters come in the query string
    query: bool
    strings: frozenset[str]  # the fields the model types `str | None`: a JSON string is all they take


def _ok(body: Any) -> Reply:
    return Reply(200, body)


def domain_of(trn: str) -> str:
    """The account (Huawei's domain id) of a TRN `trn:kms:{region}:{account}:...`."""
    parts = trn.split(":")
    return parts[3] if len(parts) > 3 else ""


def _domain_id(result: Any) -> str:
    """The account of a result: its key's (or the first key's of a page)."""
    trn = getattr(result, "trn", None)
    if trn is None and isinstance(result, model.KeyPage) and result.keys:
        trn = result.keys[0].trn
    return domain_of(trn or "")


def _key_info(call: Call, a: model.Action, r: model.Key) -> Reply:
    domain = _domain_id(r)
    return _ok({"key_info": codec.key_details(r, domain)})


def _state(call: Call, a: model.Action, r: model.Key) -> Reply:
    return _ok({"key_id": r.key_id, "key_state": codec.STATE_CODES[r.state]})


def _status_info(call: Call, a: model.Action, r: model.Key) -> Reply:
    return _ok({"key_info": {"key_id": r.key_id, "key_state": codec.STATE_CODES[r.state]}})


def _empty(call: Call, a: model.Action, r: Any) -> Reply:
    return Reply(200, None)


def _no_content(call: Call, a: model.Action, r: Any) -> Reply:
    return Reply(204, None)


def _create_key(call: Call) -> model.Action:
    f: Fields = call.params
    return model.CreateKey(
        name=f.need("key_alias"), spec=f.text("key_spec") or "AES_256", usage=f.text("key_usage"),
        origin=f.text("origin"), description=f.text("key_description"),
        enterprise_project=codec.enterprise_project_from_wire(f.text("enterprise_project_id")),
    )


def _page(f: Fields) -> tuple[int, int | None]:
    """marker (an offset) and limit, checked by the domain's page rule; None: no limit asked."""
    start, limit = f.number("marker") or 0, f.number("limit")
    rules.page(start, rules.PAGE_LIMIT_MAX if limit is None else limit)
    return start, limit


def _list_keys(call: Call) -> model.Action:
    f: Fields = call.params
    _page(f)  # applied by _shape_list (see there)
    return model.DescribeKeys(offset=0, limit=rules.PAGE_LIMIT_MAX)


def _shape_list(call: Call, a: model.Action, r: model.KeyPage) -> Reply:
    f: Fields = call.params
    domain = _domain_id(r)
    # list-keys filters by key_spec (AES_256 unless "ALL") and key_state, then pages with a numeric
    # marker. A region holds at most 100 custom keys (the service's quota), so the filter runs over the whole page.
    spec = f.text("key_spec") or "AES_256"
    state = f.text("key_state")
    project = f.text("enterprise_project_id")
    keys = [
        k for k in r.keys
        if (spec == "ALL" or k.spec.value == spec) and (state is None or codec.STATE_CODES[k.state] == state)
        and (project in (None, "all") or codec.enterprise_project_to_wire(k.enterprise_project) == project)
    ]
    start, asked = _page(f)
    limit = asked or len(keys) or 1
    page = keys[start:start + limit]
    more = start + limit < len(keys)
    return _ok({
        "keys": [k.key_id for k in page],
        "key_details": [codec.key_details(k, domain) for k in page],
        "next_marker": str(start + limit) if more else "",
        "truncated": "true" if more else "false",
        "total": len(keys),
    })


def _schedule(call: Call) -> model.Action:
    f: Fields = call.params
    return model.ScheduleKeyDeletion(key=f.key(), pending_days=f.number("pending_days", required=True))


def _encrypt(call: Call) -> model.Action:
    f: Fields = call.params
    plain = f.need("plain_text")
    algorithm = f.text("encryption_algorithm")
    return model.Encrypt(
        key=f.key(), plaintext=plain.encode(), context=f.context(),
        algorithm=None if algorithm in (None, "SYMMETRIC_DEFAULT") else algorithm,
    )


def _decrypt(call: Call) -> model.Action:
    f: Fields = call.params
    algorithm = f.text("encryption_algorithm")
    key_id = f.text("key_id")
    return model.Decrypt(
        ciphertext=f.base64("cipher_text"), key=model.KeyRef(key_id=key_id) if key_id else None,
        context=f.context(), algorithm=None if algorithm in (None, "SYMMETRIC_DEFAULT") else algorithm,
    )


def _shape_decrypt(call: Call, a: model.Action, r: model.Plaintext) -> Reply:
    try:
        text = r.plaintext.decode()
    except UnicodeDecodeError:
        text = ""  # the SDK documents plain_text_base64 as the answer for bytes that are not text
    return _ok({"key_id": r.key_id, "plain_text": text, "plain_text_base64": base64.b64encode(r.plaintext).decode()})


def _datakey(with_plaintext: bool) -> Parse:
    def parse(call: Call) -> model.Action:
        f: Fields = call.params
        bits = f.number("datakey_length")
        spec = f.text("key_spec")
        if bits is not None:
            if bits % 8 or not 8 <= bits <= DATA_KEY_BYTES_MAX * 8:
                raise HuaweiInvalid(f"datakey_length {bits} must be a multiple of 8 from 8 to {DATA_KEY_BYTES_MAX * 8}")
            size: int | None = bits // 8
        elif spec is not None:
            if spec not in DATAKEY_SPECS:
                raise HuaweiInvalid(f"key_spec '{spec}' is not a data key spec; use {' or '.join(DATAKEY_SPECS)}")
            size = DATAKEY_SPECS[spec]
        else:
            size = None
        return model.GenerateDataKey(
            key=f.key(), number_of_bytes=size, context=f.context(), with_plaintext=with_plaintext
        )

    return parse


def _shape_datakey(call: Call, a: model.Action, r: model.DataKey) -> Reply:
    out = {"key_id": r.key_id, "cipher_text": r.ciphertext.hex()}
    if r.plaintext is not None:
        out["plain_text"] = r.plaintext.hex()
    return _ok(out)


def _encrypt_datakey(call: Call) -> model.Action:
    f: Fields = call.params
    # plain_text: the data key and its SHA-256, in hex; datakey_plain_length: the data key's bytes.
    raw = f.hexbytes("plain_text")
    length = f.number("datakey_plain_length", required=True)
    assert length is not None
    key, digest = raw[:length], raw[length:]
    if len(raw) != length + 32 or hashlib.sha256(key).digest() != digest:
        raise HuaweiInvalid(
            "plain_text must be the data key of datakey_plain_length bytes followed by its SHA-256, in hex"
        )
    return model.Encrypt(key=f.key(), plaintext=key, context=f.context())


def _shape_encrypt_datakey(call: Call, a: model.Action, r: model.Ciphertext) -> Reply:
    assert isinstance(a, model.Encrypt)
    return _ok({"key_id": r.key_id, "cipher_text": r.ciphertext.hex(), "datakey_length": str(len(a.plaintext))})


def _decrypt_datakey(call: Call) -> model.Action:
    f: Fields = call.params
    return model.Decrypt(ciphertext=f.hexbytes("cipher_text"), key=f.key(), context=f.context())


def _shape_decrypt_datakey(call: Call, a: model.Action, r: model.Plaintext) -> Reply:
    return _ok({
        "data_key": r.plaintext.hex(), "datakey_length": str(len(r.plaintext)),
        "datakey_dgst": hashlib.sha256(r.plaintext).hexdigest(),
    })


def _shape_rotation_status(call: Call, a: model.Action, r: model.Key) -> Reply:
    return _ok({
        "key_rotation_enabled": r.rotation_enabled,
        "rotation_interval": r.rotation_days,
        "last_rotation_time": codec.millis(r.last_rotation) or "",
        "number_of_rotations": None,
    })


def _batch_tags(call: Call) -> model.Action:
    f: Fields = call.params
    action = f.need("action")
    pairs = f.tags()
    if not pairs:
        raise HuaweiInvalid("tags must not be empty")
    if action == "create":
        return model.TagKey(key=f.key(), tags=rules.tags(pairs, "tags"))
    if action == "delete":
        return model.UntagKey(key=f.key(), tag_keys=tuple(k for k, _ in pairs))
    raise HuaweiInvalid(f"action '{action}' must be create or delete")


def _create_tag(call: Call) -> model.Action:
    f: Fields = call.params
    tag: Any = f.raw.get("tag")
    if not isinstance(tag, dict):
        raise MissingParameter("create_kms_tag needs tag, a {key, value} object")
    pair: tuple[Any, Any] = (tag.get("key"), tag.get("value") or "")
    return model.TagKey(key=f.key(), tags=rules.tags([pair], "tag"))


def _shape_tags(call: Call, a: model.Action, r: model.Key) -> Reply:
    return _ok({"tags": [{"key": k, "value": v} for k, v in r.tags.items()], "existTagsNum": len(r.tags)})


def _shape_alias(call: Call, a: model.Action, r: model.Alias) -> Reply:
    return _ok(codec.alias_entity(r, domain_of(r.trn)))


def _shape_created_alias(call: Call, a: model.Action, r: model.Alias) -> Reply:
    # 201 Created, as Huawei's CreateAlias reference answers (https://support.huaweicloud.com/intl/en-us/api-dew/CreateAlias.html)
    return Reply(201, codec.alias_entity(r, domain_of(r.trn)))


def _delete_alias(call: Call) -> tuple[model.Action, ...]:
    f: Fields = call.params
    # key_id is mandatory in Huawei's DeleteAlias reference, which answers 204
    # (https://support.huaweicloud.com/intl/en-us/api-dew/DeleteAlias.html)
    f.need("key_id")
    aliases = f.raw.get("aliases")
    if not isinstance(aliases, list) or not aliases or not all(isinstance(a, str) for a in aliases):
        raise MissingParameter("aliases must list the alias names to delete")
    return tuple(model.DeleteAlias(alias=a) for a in aliases)


def _list_aliases(call: Call) -> model.Action:
    f: Fields = call.params
    key_id = f.text("key_id")
    _page(f)
    return model.ListAliases(key=model.KeyRef(key_id=key_id) if key_id else None)


def _shape_aliases(call: Call, a: model.Action, r: tuple[model.Alias, ...]) -> Reply:
    start, asked = _page(call.params)
    limit = asked or len(r) or 1
    page = r[start:start + limit]
    more = start + limit < len(r)
    # ListAliasesResponse's body is `list[ListAliasResponseBody]` in the SDK: one page, in a list.
    return _ok([{
        "aliases": [codec.alias_entity(x, domain_of(x.trn)) for x in page],
        "page_info": {"next_marker": str(start + limit) if more else "", "current_count": len(page)},
    }])


def _replicate(call: Call) -> model.Action:
    # key_alias (the replica's alias) and replica_project_id are mandatory in Huawei's ReplicateKey reference
    # (https://support.huaweicloud.com/intl/en-us/api-dew/ReplicateKey.html), as key_id and replica_region are.
    f: Fields = call.params
    region = f.need("replica_region")
    project = f.need("replica_project_id")
    if f.region_of_project(project) != region:
        raise HuaweiInvalid(f"replica_project_id '{project}' is not a project of replica_region '{region}'")
    body_key = f.text("key_id")
    if body_key is not None and body_key != f.path["key_id"]:
        raise HuaweiInvalid(f"key_id '{body_key}' of the body differs from the key {f.path['key_id']} of the path")
    return model.ReplicateKey(
        key=f.key(), replica_region=region, replica_name=f.need("key_alias"), description=f.text("key_description"),
        enterprise_project=codec.enterprise_project_from_wire(f.text("enterprise_project_id")),
        tags=rules.tags(f.tags(), "tags"),
    )


def _shape_replica(call: Call, a: model.Action, r: model.Key) -> Reply:
    domain = _domain_id(r)
    return _ok({"key_id": r.key_id, "domain_id": domain, "region": r.region})


def _sign(call: Call) -> model.Action:
    f: Fields = call.params
    return model.Sign(
        key=f.key(), message=f.base64("message"), algorithm=f.need("signing_algorithm"),
        digest=(f.text("message_type") or "DIGEST") == "DIGEST",
    )


def _verify(call: Call) -> model.Action:
    f: Fields = call.params
    return model.Verify(
        key=f.key(), message=f.base64("message"), signature=f.base64("signature"),
        algorithm=f.need("signing_algorithm"), digest=(f.text("message_type") or "DIGEST") == "DIGEST",
    )


def _re_encrypt(call: Call) -> model.Action:
    f: Fields = call.params
    f.text("source_key_id")  # checked for its type; the ciphertext names the key that opens it
    return model.ReEncrypt(
        ciphertext=f.base64("cipher_text"), new_key=model.KeyRef(key_id=f.need("destination_key_id")),
        old_context=codec.aad_to_context(f.text("source_additional_authenticated_data")),
        new_context=codec.aad_to_context(f.text("destination_additional_authenticated_data")),
    )


def _shape_re_encrypt(call: Call, a: model.Action, r: model.Ciphertext) -> Reply:
    return _ok({
        "key_id": r.key_id, "source_key_id": r.source_key_id, "cipher_text": base64.b64encode(r.ciphertext).decode(),
    })


def _shape_import_parameters(call: Call, a: model.Action, r: model.ImportParameters) -> Reply:
    return _ok({
        "key_id": r.key_id, "import_token": r.import_token, "expiration_time": int(r.valid_to),
        "public_key": base64.b64encode(r.public_key_der).decode(),
    })


def _on_key(kind: type[model.OnKey]) -> Parse:
    """The parse of an operation that only names a key."""
    return lambda call: kind(key=call.params.key())


def _ok_with(shape: Callable[[Fields, Any], Any]) -> Callable[[Call, Any, Any], Reply]:
    """A 200 answer of the document `shape(fields, result)`."""
    return lambda call, action, result: Reply(200, shape(call.params, result))


HANDLERS: dict[str, Handler] = {
    "create_key": Handler(_create_key, lambda c, a, r: _ok(
        {"key_info": {"key_id": r.key_id, "domain_id": _domain_id(r), "region_id": r.region}})),
    "list_key_detail": Handler(_on_key(model.DescribeKey), _key_info),
    "list_keys": Handler(_list_keys, _shape_list),
    "enable_key": Handler(_on_key(model.EnableKey), _status_info),
    "disable_key": Handler(_on_key(model.DisableKey), _status_info),
    "delete_key": Handler(_schedule, _state),
    "cancel_key_deletion": Handler(_on_key(model.CancelKeyDeletion), _state),
    "update_key_alias": Handler(
        lambda c: model.UpdateKey(key=c.params.key(), new_name=c.params.need("key_alias")),
        _ok_with(lambda f, r: {"key_info": {"key_id": r.key_id, "key_alias": r.name}})),
    "update_key_description": Handler(
        lambda c: model.UpdateKey(key=c.params.key(), description=c.params.need("key_description")),
        _ok_with(lambda f, r: {"key_info": {"key_id": r.key_id, "key_description": r.description}})),
    "encrypt_data": Handler(_encrypt, _ok_with(
        lambda f, r: {"key_id": r.key_id, "cipher_text": base64.b64encode(r.ciphertext).decode()})),
    "decrypt_data": Handler(_decrypt, _shape_decrypt),
    "create_datakey": Handler(_datakey(True), _shape_datakey),
    "create_datakey_without_plaintext": Handler(_datakey(False), _shape_datakey),
    "encrypt_datakey": Handler(_encrypt_datakey, _shape_encrypt_datakey),
    "decrypt_datakey": Handler(_decrypt_datakey, _shape_decrypt_datakey),
    "enable_key_rotation": Handler(_on_key(model.EnableKeyRotation), _empty),
    "disable_key_rotation": Handler(_on_key(model.DisableKeyRotation), _empty),
    "update_key_rotation_interval": Handler(
        lambda c: model.EnableKeyRotation(key=c.params.key(),
                                          rotation_days=c.params.number("rotation_interval", required=True)),
        _empty),
    "show_key_rotation_status": Handler(_on_key(model.DescribeKey), _shape_rotation_status),
    "create_kms_tag": Handler(_create_tag, _no_content),
    "batch_create_kms_tags": Handler(_batch_tags, _no_content),
    "delete_tag": Handler(lambda c: model.UntagKey(key=c.params.key(), tag_keys=(c.params.path["key"],)), _no_content),
    "show_kms_tags": Handler(_on_key(model.DescribeKey), _shape_tags),
    "create_alias": Handler(lambda c: model.CreateAlias(alias=c.params.need("alias"), key=c.params.key()),
                            _shape_created_alias),
    "associate_alias": Handler(
        lambda c: model.UpdateAlias(alias=c.params.need("alias"),
                                    key=model.KeyRef(key_id=c.params.need("target_key_id"))),
        _shape_alias),
    "delete_alias": Handler(_delete_alias, _no_content),
    "list_aliases": Handler(_list_aliases, _shape_aliases),
    "replicate_key": Handler(_replicate, _shape_replica),
    "re_encrypt": Handler(_re_encrypt, _shape_re_encrypt),
    "sign": Handler(_sign, _ok_with(
        lambda f, r: {"key_id": r.key_id, "signature": base64.b64encode(r.signature).decode()})),
    "validate_signature": Handler(_verify, _ok_with(
        lambda f, r: {"key_id": r.key_id, "signature_valid": "true" if r.valid else "false"})),
    "generate_mac": Handler(
        lambda c: model.GenerateMac(key=c.params.key(), message=c.params.base64("message"),
                                    algorithm=c.params.text("mac_algorithm")),
        _ok_with(lambda f, r: {"key_id": r.key_id, "mac_algorithm": f.text("mac_algorithm"),
                               "mac": base64.b64encode(r.mac).decode()})),
    "verify_mac": Handler(
        lambda c: model.VerifyMac(key=c.params.key(), message=c.params.base64("message"), mac=c.params.base64("mac"),
                                  algorithm=c.params.text("mac_algorithm")),
        _ok_with(lambda f, r: {"key_id": r.key_id, "mac_algorithm": f.text("mac_algorithm"), "mac_valid": r.valid})),
    "show_public_key": Handler(_on_key(model.GetPublicKey),
                               _ok_with(lambda f, r: {"key_id": r.key_id, "public_key": r.pem})),
    "create_parameters_for_import": Handler(
        lambda c: model.GetParametersForImport(
            key=c.params.key(), wrapping_algorithm=c.params.text("wrapping_algorithm") or "RSAES_OAEP_SHA_256"),
        _shape_import_parameters),
    "import_key_material": Handler(
        lambda c: model.ImportKeyMaterial(key=c.params.key(), import_token=c.params.need("import_token"),
                                          encrypted_material=c.params.base64("encrypted_key_material")),
        _empty),
}
# The SDK methods served: the table's keys, in its order (each one an operation of the SDK: tests/wire).
OPERATIONS: tuple[str, ...] = tuple(HANDLERS)


# --- routes, from the SDK's generated models ------------------------------------------------------
def _wire_names(cls: type[BaseModel], leave_out: frozenset[str] = frozenset()) -> frozenset[str]:
    return frozenset(f.alias or name for name, f in cls.model_fields.items()) - leave_out


def _body_model(request: type[BaseModel]) -> type[BaseModel] | None:
    field = request.model_fields.get("body")
    if field is None:
        return None
    found = [t for t in typing.get_args(field.annotation) if isinstance(t, type) and issubclass(t, BaseModel)]
    return found[0]


def _strings(cls: type[BaseModel]) -> frozenset[str]:
    return frozenset(f.alias or name for name, f in cls.model_fields.items()
                     if f.annotation == (str | None) and not f.is_required() and not f.metadata)


def sdk_route(name: str) -> Route:
    """The route of the SDK method `name`: method, path and fields from the generated models."""
    from . import models as generated  # the server's alone: HttpBackend never loads it

    sdk = generated.OPERATIONS[name]
    version, _, rest = sdk.path.lstrip("/").partition("/{project_id}/kms")
    in_path = frozenset(re.findall(r"\{(\w+)\}", sdk.path))
    body = _body_model(sdk.request)
    fields = _wire_names(body) if body is not None else _wire_names(sdk.request, in_path)
    pattern = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", rest) + "$")
    return Route(name, sdk.method, version, pattern, fields, sdk.request, body, body is None,
                 _strings(body) if body is not None else frozenset())


@cache
def routes() -> tuple[Route, ...]:
    """Every operation's route, built from the generated models when the server first routes a request."""
    return tuple(sdk_route(name) for name in OPERATIONS)


def route(method: str, path: str) -> tuple[Route, str, dict[str, str]]:
    """The route of a request, its project id and its path parameters, or NoSuchApi."""
    found = PATH_RE.match(path)
    if found is None:
        raise codec.NoSuchApi()
    rest = found["rest"] or ""
    for op in routes():
        if op.version != found["version"]:
            continue
        params = op.path.match(rest)
        if params is None:
            continue
        if op.method != method.upper():
            continue
        return op, found["project"], {k: v for k, v in params.groupdict().items()}
    # The gateway matches an API by method and path together: any other pair is no API at all.
    raise codec.NoSuchApi()


_KINDS = {"string_type": "a string", "int_type": "a whole number", "bool_type": "a boolean", "list_type": "a list",
          "model_type": "an object", "dict_type": "an object", "model_attributes_type": "an object",
          "float_type": "a number"}


def _typed(op: Route, model: type[BaseModel], raw: dict[str, Any]) -> None:
    """The fields typed as the SDK's model types them (a `str` is a JSON string, ...), or HuaweiInvalid
    naming the field and its type; a value is never echoed (it may be a plaintext)."""
    try:
        # The model's validator itself: model_validate is a Python wrapper around this very call.
        model.__pydantic_validator__.validate_python(raw, strict=not op.query)
    except ValidationError as exc:
        first = exc.errors(include_input=False, include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        if first["type"] == "extra_forbidden":
            raise HuaweiInvalid(f"{op.name} takes no parameter {where}") from None
        if first["type"] == "missing":
            raise MissingParameter(f"{op.name} needs {where}") from None
        kind = _KINDS.get(first["type"], "of the type the SDK's model gives it")
        got = first.get("ctx", {}).get("class_name") or type(_at(raw, first["loc"])).__name__
        raise HuaweiInvalid(f"{where} must be {kind}, not {got}") from None


def _at(raw: Any, loc: tuple[int | str, ...]) -> Any:
    for part in loc:
        try:
            raw = raw[part]
        except (KeyError, IndexError, TypeError):
            return None
    return raw


def read_fields(op: Route, query: Sequence[tuple[str, str]], body: bytes, path: dict[str, str],
                region_of_project: Callable[[str], str]) -> Fields:
    if op.query:
        raw: Any = dict(query)
    elif body.strip():
        try:
            raw = read_json(body)
        except ValueError as exc:
            raise BadJson(f"the request body is not JSON: {exc}") from None
        if not isinstance(raw, dict):
            raise BadJson("the request body must be a JSON object")
    else:
        raw = {}
    fields = Fields(op.name, raw, op.fields, path, region_of_project)  # unknown fields first: named with the rest
    # A body of JSON strings in fields the model types `str | None` is what the model's strict check passes
    # (no extra field: Fields refused those); anything else goes through the model's validator.
    strings = op.strings
    if op.query or not all(type(v) is str and k in strings for k, v in raw.items()):
        _typed(op, op.body or op.request, raw if op.body is not None else {**raw, **path})
    return fields


ROUTES_KEPT = 4096
_JSON = (b"Content-Type", b"application/json")
_ID_PREFIX = os.urandom(8).hex().encode()
_ids = itertools.count(1)


def _request_id() -> bytes:
    # 32 hex digits as Huawei's ids are, distinct for each answer: this process's random half, then a count
    # (no system call for randomness per answer).
    return b"%s%016x" % (_ID_PREFIX, next(_ids))


class HuaweiServer:
    """The server side of the `huaweicloud` dialect; `region_of_project` names a project id's region (as the
    dialect's configuration maps them). A request's route is kept per (method, path): every request on a path
    routes the same."""

    def __init__(self, region_of_project: Callable[[str], str]) -> None:
        self.region_of_project = region_of_project
        self._routes: dict[tuple[str, str], tuple[Route, str, dict[str, str]]] = {}

    def owns(self, req: WireRequest) -> bool:
        return PATH_RE.match(req.path) is not None

    def _route(self, req: WireRequest) -> tuple[Route, str, dict[str, str]]:
        where = (req.method, req.path)
        found = self._routes.get(where)
        if found is None:
            found = route(req.method, req.path)  # raises for a path it does not serve
            if len(self._routes) >= ROUTES_KEPT:  # paths hold key ids: keep the memo bounded
                self._routes.clear()
            self._routes[where] = found
        return found

    def authenticate(self, req: WireRequest, secret_for: Callable[[str], str | None]) -> Call:
        access_key = signer.verify(req.method, req.path, req.query, req.headers, req.body, secret_for)
        op, project, _ = self._route(req)
        return Call(req, op.name, self.region_of_project(project), None, access_key)

    def decode(self, call: Call) -> Call:
        req = call.wire
        op, _, path = self._route(req)
        fields = read_fields(op, req.query, req.body, path, self.region_of_project)
        return Call(req, call.operation, call.region, fields, call.access_key)

    def parse(self, call: Call) -> Parsed:
        return HANDLERS[call.operation].parse(call)

    def shape(self, call: Call, action: Parsed, result: Results) -> WireResponse:
        reply: Reply = HANDLERS[call.operation].shape(call, action, result)
        body = b"" if reply.body is None else write_json(reply.body)
        return WireResponse(reply.status, body, (_JSON, (b"X-Request-Id", _request_id())))

    def shape_error(self, call: Call, error: KmsError) -> WireResponse:
        status, code = codec.error_status_code(error)
        return WireResponse(status, codec.error_body(code, error.message),
                            (_JSON, (b"X-Request-Id", _request_id())))
