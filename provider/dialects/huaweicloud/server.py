"""Server side: Huawei Cloud KMS requests into domain actions, domain results into its JSON.

One `Operation` per SDK method this emulator serves: the method and path of `kms_client.py`, the
fields of its request model (anything else is refused, naming the field), how to read them into an
action and how to shape the result into its response model's JSON (strings where the model says
`str`, JSON booleans where it says `bool`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ...domain import model, rules
from ...domain.errors import InvalidParameter
from ...domain.rules import DATA_KEY_BYTES_MAX
from .. import read_json
from . import codec
from .codec import BadJson, HuaweiInvalid, MissingParameter

if TYPE_CHECKING:  # pydantic loads with the route table (the server's alone; HttpBackend never needs it)
    from pydantic import BaseModel

PATH_RE = re.compile(r"^/(?P<version>v1\.0|v2)/(?P<project>[^/]+)/kms(?P<rest>/.*)?$")
# AES_128 and AES_256 data keys of create-datakey's key_spec, in bytes.
DATAKEY_SPECS = {"AES_256": 32, "AES_128": 16}


class Fields:
    """The request's parameters, read with the types of the SDK's request model."""

    def __init__(self, op: str, raw: Mapping[str, Any], allowed: frozenset[str], path: Mapping[str, str]) -> None:
        unknown = sorted(set(raw) - allowed)
        if unknown:
            raise InvalidParameter(
                f"{op} takes no parameter {', '.join(unknown)}; it takes {', '.join(sorted(allowed)) or 'none'}"
            )
        self.op, self.raw, self.path = op, raw, path

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


Parse = Callable[[Fields], model.Action | tuple[model.Action, ...]]
Shape = Callable[[Fields, Any, Any, str], Reply]


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


@dataclass(frozen=True)
class Operation:
    """One SDK method: its HTTP method, path, request model and fields all come from the generated models
    (models.py, made from `huaweicloudsdkkms` by scripts/generate_wire_models.py)."""

    name: str  # the SDK's method
    method: str
    version: str
    path: re.Pattern[str]  # after /{version}/{project_id}/kms
    fields: frozenset[str]  # of the body model, or the query parameters
    parse: Parse
    shape: Shape
    request: type[BaseModel]  # the SDK's {Method}Request, generated
    body: type[BaseModel] | None  # its `body` model; None: the parameters come in the query string
    query: bool


def _ok(body: Any) -> Reply:
    return Reply(200, body)


def domain_of(trn: str) -> str:
    """The account (Huawei's domain id) of a TRN `trn:kms:{region}:{account}:...`."""
    parts = trn.split(":")
    return parts[3] if len(parts) > 3 else ""


def _key_info(f: Fields, a: model.Action, r: model.Key, domain: str) -> Reply:
    return _ok({"key_info": codec.key_details(r, domain)})


def _state(f: Fields, a: model.Action, r: model.Key, domain: str) -> Reply:
    return _ok({"key_id": r.key_id, "key_state": codec.STATE_CODES[r.state]})


def _status_info(f: Fields, a: model.Action, r: model.Key, domain: str) -> Reply:
    return _ok({"key_info": {"key_id": r.key_id, "key_state": codec.STATE_CODES[r.state]}})


def _empty(f: Fields, a: model.Action, r: Any, domain: str) -> Reply:
    return Reply(200, None)


def _no_content(f: Fields, a: model.Action, r: Any, domain: str) -> Reply:
    return Reply(204, None)


def _create_key(f: Fields) -> model.Action:
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


def _list_keys(f: Fields) -> model.Action:
    _page(f)  # applied by _shape_list (see there)
    return model.DescribeKeys(offset=0, limit=rules.PAGE_LIMIT_MAX)


def _shape_list(f: Fields, a: model.Action, r: model.KeyPage, domain: str) -> Reply:
    # list-keys filters by key_spec (AES_256 unless "ALL") and key_state, then pages with a numeric
    # marker. A region holds at most 100 keys (seed 001), so the filter runs over the whole page.
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


def _schedule(f: Fields) -> model.Action:
    return model.ScheduleKeyDeletion(key=f.key(), pending_days=f.number("pending_days", required=True))


def _encrypt(f: Fields) -> model.Action:
    plain = f.need("plain_text")
    algorithm = f.text("encryption_algorithm")
    return model.Encrypt(
        key=f.key(), plaintext=plain.encode(), context=f.context(),
        algorithm=None if algorithm in (None, "SYMMETRIC_DEFAULT") else algorithm,
    )


def _decrypt(f: Fields) -> model.Action:
    algorithm = f.text("encryption_algorithm")
    key_id = f.text("key_id")
    return model.Decrypt(
        ciphertext=f.base64("cipher_text"), key=model.KeyRef(key_id=key_id) if key_id else None,
        context=f.context(), algorithm=None if algorithm in (None, "SYMMETRIC_DEFAULT") else algorithm,
    )


def _shape_decrypt(f: Fields, a: model.Action, r: model.Plaintext, domain: str) -> Reply:
    try:
        text = r.plaintext.decode()
    except UnicodeDecodeError:
        text = ""  # the SDK documents plain_text_base64 as the answer for bytes that are not text
    return _ok({"key_id": r.key_id, "plain_text": text, "plain_text_base64": base64.b64encode(r.plaintext).decode()})


def _datakey(with_plaintext: bool) -> Parse:
    def parse(f: Fields) -> model.Action:
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


def _shape_datakey(f: Fields, a: model.Action, r: model.DataKey, domain: str) -> Reply:
    out = {"key_id": r.key_id, "cipher_text": r.ciphertext.hex()}
    if r.plaintext is not None:
        out["plain_text"] = r.plaintext.hex()
    return _ok(out)


def _encrypt_datakey(f: Fields) -> model.Action:
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


def _shape_encrypt_datakey(f: Fields, a: model.Action, r: model.Ciphertext, domain: str) -> Reply:
    assert isinstance(a, model.Encrypt)
    return _ok({"key_id": r.key_id, "cipher_text": r.ciphertext.hex(), "datakey_length": str(len(a.plaintext))})


def _decrypt_datakey(f: Fields) -> model.Action:
    return model.Decrypt(ciphertext=f.hexbytes("cipher_text"), key=f.key(), context=f.context())


def _shape_decrypt_datakey(f: Fields, a: model.Action, r: model.Plaintext, domain: str) -> Reply:
    return _ok({
        "data_key": r.plaintext.hex(), "datakey_length": str(len(r.plaintext)),
        "datakey_dgst": hashlib.sha256(r.plaintext).hexdigest(),
    })


def _shape_rotation_status(f: Fields, a: model.Action, r: model.Key, domain: str) -> Reply:
    return _ok({
        "key_rotation_enabled": r.rotation_enabled,
        "rotation_interval": r.rotation_days,
        "last_rotation_time": codec.millis(r.last_rotation) or "",
        "number_of_rotations": None,
    })


def _batch_tags(f: Fields) -> model.Action:
    action = f.need("action")
    pairs = f.tags()
    if not pairs:
        raise HuaweiInvalid("tags must not be empty")
    if action == "create":
        return model.TagKey(key=f.key(), tags=rules.tags(pairs, "tags"))
    if action == "delete":
        return model.UntagKey(key=f.key(), tag_keys=tuple(k for k, _ in pairs))
    raise HuaweiInvalid(f"action '{action}' must be create or delete")


def _create_tag(f: Fields) -> model.Action:
    tag: Any = f.raw.get("tag")
    if not isinstance(tag, dict):
        raise MissingParameter("create_kms_tag needs tag, a {key, value} object")
    pair: tuple[Any, Any] = (tag.get("key"), tag.get("value") or "")
    return model.TagKey(key=f.key(), tags=rules.tags([pair], "tag"))


def _shape_tags(f: Fields, a: model.Action, r: model.Key, domain: str) -> Reply:
    return _ok({"tags": [{"key": k, "value": v} for k, v in r.tags.items()], "existTagsNum": len(r.tags)})


def _shape_alias(f: Fields, a: model.Action, r: model.Alias, domain: str) -> Reply:
    return _ok(codec.alias_entity(r, domain_of(r.trn)))


def _shape_created_alias(f: Fields, a: model.Action, r: model.Alias, domain: str) -> Reply:
    # 201 Created, as Huawei's CreateAlias reference answers (https://support.huaweicloud.com/intl/en-us/api-dew/CreateAlias.html)
    return Reply(201, codec.alias_entity(r, domain_of(r.trn)))


def _delete_alias(f: Fields) -> tuple[model.Action, ...]:
    # key_id is mandatory in Huawei's DeleteAlias reference, which answers 204
    # (https://support.huaweicloud.com/intl/en-us/api-dew/DeleteAlias.html)
    f.need("key_id")
    aliases = f.raw.get("aliases")
    if not isinstance(aliases, list) or not aliases or not all(isinstance(a, str) for a in aliases):
        raise MissingParameter("aliases must list the alias names to delete")
    return tuple(model.DeleteAlias(alias=a) for a in aliases)


def _list_aliases(f: Fields) -> model.Action:
    key_id = f.text("key_id")
    _page(f)
    return model.ListAliases(key=model.KeyRef(key_id=key_id) if key_id else None)


def _shape_aliases(f: Fields, a: model.Action, r: tuple[model.Alias, ...], domain: str) -> Reply:
    start, asked = _page(f)
    limit = asked or len(r) or 1
    page = r[start:start + limit]
    more = start + limit < len(r)
    # ListAliasesResponse's body is `list[ListAliasResponseBody]` in the SDK: one page, in a list.
    return _ok([{
        "aliases": [codec.alias_entity(x, domain_of(x.trn)) for x in page],
        "page_info": {"next_marker": str(start + limit) if more else "", "current_count": len(page)},
    }])


def _replicate(projects: Callable[[str], str]) -> Parse:
    # key_alias (the replica's alias) and replica_project_id are mandatory in Huawei's ReplicateKey reference
    # (https://support.huaweicloud.com/intl/en-us/api-dew/ReplicateKey.html), as key_id and replica_region are.
    def parse(f: Fields) -> model.Action:
        region = f.need("replica_region")
        project = f.need("replica_project_id")
        if projects(project) != region:
            raise HuaweiInvalid(f"replica_project_id '{project}' is not a project of replica_region '{region}'")
        body_key = f.text("key_id")
        if body_key is not None and body_key != f.path["key_id"]:
            raise HuaweiInvalid(f"key_id '{body_key}' of the body differs from the key {f.path['key_id']} of the path")
        return model.ReplicateKey(
            key=f.key(), replica_region=region, replica_name=f.need("key_alias"), description=f.text("key_description"),
            enterprise_project=codec.enterprise_project_from_wire(f.text("enterprise_project_id")),
            tags=rules.tags(f.tags(), "tags"),
        )

    return parse


def _shape_replica(f: Fields, a: model.Action, r: model.Key, domain: str) -> Reply:
    return _ok({"key_id": r.key_id, "domain_id": domain, "region": r.region})


def _sign(f: Fields) -> model.Action:
    return model.Sign(
        key=f.key(), message=f.base64("message"), algorithm=f.need("signing_algorithm"),
        digest=(f.text("message_type") or "DIGEST") == "DIGEST",
    )


def _verify(f: Fields) -> model.Action:
    return model.Verify(
        key=f.key(), message=f.base64("message"), signature=f.base64("signature"),
        algorithm=f.need("signing_algorithm"), digest=(f.text("message_type") or "DIGEST") == "DIGEST",
    )


def _re_encrypt(f: Fields) -> model.Action:
    f.text("source_key_id")  # checked for its type; the ciphertext names the key that opens it
    return model.ReEncrypt(
        ciphertext=f.base64("cipher_text"), new_key=model.KeyRef(key_id=f.need("destination_key_id")),
        old_context=codec.aad_to_context(f.text("source_additional_authenticated_data")),
        new_context=codec.aad_to_context(f.text("destination_additional_authenticated_data")),
    )


def _shape_re_encrypt(f: Fields, a: model.Action, r: model.Ciphertext, domain: str) -> Reply:
    return _ok({
        "key_id": r.key_id, "source_key_id": r.source_key_id, "cipher_text": base64.b64encode(r.ciphertext).decode(),
    })


def _shape_import_parameters(f: Fields, a: model.Action, r: model.ImportParameters, domain: str) -> Reply:
    return _ok({
        "key_id": r.key_id, "import_token": r.import_token, "expiration_time": int(r.valid_to),
        "public_key": base64.b64encode(r.public_key_der).decode(),
    })


def _wire_names(cls: type[BaseModel], leave_out: frozenset[str] = frozenset()) -> frozenset[str]:
    return frozenset(f.alias or name for name, f in cls.model_fields.items()) - leave_out


def _body_model(request: type[BaseModel]) -> type[BaseModel] | None:
    from pydantic import BaseModel

    field = request.model_fields.get("body")
    if field is None:
        return None
    found = [t for t in typing.get_args(field.annotation) if isinstance(t, type) and issubclass(t, BaseModel)]
    return found[0]


def sdk_operation(name: str, parse: Parse, shape: Shape) -> Operation:
    """The operation `name` of the SDK (method, path, fields from the generated models), served by `parse`
    and `shape`."""
    from . import models as generated  # the server's alone: HttpBackend never loads it

    sdk = generated.OPERATIONS[name]
    version, _, rest = sdk.path.lstrip("/").partition("/{project_id}/kms")
    in_path = frozenset(re.findall(r"\{(\w+)\}", sdk.path))
    body = _body_model(sdk.request)
    fields = _wire_names(body) if body is not None else _wire_names(sdk.request, in_path)
    pattern = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", rest) + "$")
    return Operation(name, sdk.method, version, pattern, fields, parse, shape, sdk.request, body, body is None)


class Operations(Sequence[Operation]):
    """The route table, built from the generated models when the server first routes a request (the
    dialect is imported by HttpBackend too, which never does)."""

    def __init__(self, build: Callable[[], tuple[Operation, ...]]) -> None:
        self._build = build
        self._ops: tuple[Operation, ...] | None = None

    @property
    def ops(self) -> tuple[Operation, ...]:
        if self._ops is None:
            self._ops = self._build()
        return self._ops

    @typing.overload
    def __getitem__(self, index: int) -> Operation: ...

    @typing.overload
    def __getitem__(self, index: slice) -> Sequence[Operation]: ...

    def __getitem__(self, index: int | slice) -> Operation | Sequence[Operation]:
        return self.ops[index]

    def __len__(self) -> int:
        return len(self.ops)


def operations(projects: Callable[[str], str]) -> Operations:
    """The route table; `projects` resolves a project id to its region (for replica_project_id)."""
    return Operations(lambda: _operations(projects))


def _operations(projects: Callable[[str], str]) -> tuple[Operation, ...]:
    op = sdk_operation
    return (
        op("create_key", _create_key,
           lambda f, a, r, d: _ok({"key_info": {"key_id": r.key_id, "domain_id": d, "region_id": r.region}})),
        op("list_key_detail", lambda f: model.DescribeKey(key=f.key()), _key_info),
        op("list_keys", _list_keys, _shape_list),
        op("enable_key", lambda f: model.EnableKey(key=f.key()), _status_info),
        op("disable_key", lambda f: model.DisableKey(key=f.key()), _status_info),
        op("delete_key", _schedule, _state),
        op("cancel_key_deletion", lambda f: model.CancelKeyDeletion(key=f.key()), _state),
        op("update_key_alias", lambda f: model.UpdateKey(key=f.key(), new_name=f.need("key_alias")),
           lambda f, a, r, d: _ok({"key_info": {"key_id": r.key_id, "key_alias": r.name}})),
        op("update_key_description", lambda f: model.UpdateKey(key=f.key(), description=f.need("key_description")),
           lambda f, a, r, d: _ok({"key_info": {"key_id": r.key_id, "key_description": r.description}})),
        op("encrypt_data", _encrypt,
           lambda f, a, r, d: _ok({"key_id": r.key_id, "cipher_text": base64.b64encode(r.ciphertext).decode()})),
        op("decrypt_data", _decrypt, _shape_decrypt),
        op("create_datakey", _datakey(True), _shape_datakey),
        op("create_datakey_without_plaintext", _datakey(False), _shape_datakey),
        op("encrypt_datakey", _encrypt_datakey, _shape_encrypt_datakey),
        op("decrypt_datakey", _decrypt_datakey, _shape_decrypt_datakey),
        op("enable_key_rotation", lambda f: model.EnableKeyRotation(key=f.key()), _empty),
        op("disable_key_rotation", lambda f: model.DisableKeyRotation(key=f.key()), _empty),
        op("update_key_rotation_interval",
           lambda f: model.EnableKeyRotation(key=f.key(), rotation_days=f.number("rotation_interval", required=True)),
           _empty),
        op("show_key_rotation_status", lambda f: model.DescribeKey(key=f.key()), _shape_rotation_status),
        op("create_kms_tag", _create_tag, _no_content),
        op("batch_create_kms_tags", _batch_tags, _no_content),
        op("delete_tag", lambda f: model.UntagKey(key=f.key(), tag_keys=(f.path["key"],)), _no_content),
        op("show_kms_tags", lambda f: model.DescribeKey(key=f.key()), _shape_tags),
        op("create_alias", lambda f: model.CreateAlias(alias=f.need("alias"), key=f.key()), _shape_created_alias),
        op("associate_alias",
           lambda f: model.UpdateAlias(alias=f.need("alias"), key=model.KeyRef(key_id=f.need("target_key_id"))),
           _shape_alias),
        op("delete_alias", _delete_alias, _no_content),
        op("list_aliases", _list_aliases, _shape_aliases),
        op("replicate_key", _replicate(projects), _shape_replica),
        op("re_encrypt", _re_encrypt, _shape_re_encrypt),
        op("sign", _sign,
           lambda f, a, r, d: _ok({"key_id": r.key_id, "signature": base64.b64encode(r.signature).decode()})),
        op("validate_signature", _verify,
           lambda f, a, r, d: _ok({"key_id": r.key_id, "signature_valid": "true" if r.valid else "false"})),
        op("generate_mac",
           lambda f: model.GenerateMac(key=f.key(), message=f.base64("message"), algorithm=f.text("mac_algorithm")),
           lambda f, a, r, d: _ok({
               "key_id": r.key_id, "mac_algorithm": f.text("mac_algorithm"), "mac": base64.b64encode(r.mac).decode()})),
        op("verify_mac",
           lambda f: model.VerifyMac(
               key=f.key(), message=f.base64("message"), mac=f.base64("mac"), algorithm=f.text("mac_algorithm")),
           lambda f, a, r, d: _ok({
               "key_id": r.key_id, "mac_algorithm": f.text("mac_algorithm"), "mac_valid": r.valid})),
        op("show_public_key", lambda f: model.GetPublicKey(key=f.key()),
           lambda f, a, r, d: _ok({"key_id": r.key_id, "public_key": r.pem})),
        op("create_parameters_for_import",
           lambda f: model.GetParametersForImport(
               key=f.key(), wrapping_algorithm=f.text("wrapping_algorithm") or "RSAES_OAEP_SHA_256"),
           _shape_import_parameters),
        op("import_key_material",
           lambda f: model.ImportKeyMaterial(
               key=f.key(), import_token=f.need("import_token"), encrypted_material=f.base64("encrypted_key_material")),
           _empty),
    )


def route(ops: Sequence[Operation], method: str, path: str) -> tuple[Operation, str, dict[str, str]]:
    """The operation of a request, its project id and its path parameters, or BadUrl."""
    found = PATH_RE.match(path)
    if found is None:
        raise codec.NoSuchApi()
    rest = found["rest"] or ""
    for op in ops:
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


def _typed(op: Operation, model: type[BaseModel], raw: dict[str, Any]) -> None:
    """The fields typed as the SDK's model types them (a `str` is a JSON string, ...), or HuaweiInvalid
    naming the field and its type; a value is never echoed (it may be a plaintext)."""
    from pydantic import ValidationError

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


def read_fields(op: Operation, query: list[tuple[str, str]], body: bytes, path: dict[str, str]) -> Fields:
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
    fields = Fields(op.name, raw, op.fields, path)  # unknown fields first: named with what the operation takes
    _typed(op, op.body or op.request, raw if op.body is not None else {**raw, **path})
    return fields
