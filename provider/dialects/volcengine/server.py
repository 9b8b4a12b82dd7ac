"""Server side of the Volcengine dialect: a request into a `Call`, the call into domain actions, their
results into Volcengine's answer envelope (https://www.volcengine.com/docs/6499/1125371). It parses and
shapes, and decides nothing: every rule is the emulator's.

`HANDLERS` is the table: one `Handler(parse, shape)` per Action, looked up by the action's name, so no
action's branch depends on the order of another's.
"""

from __future__ import annotations

import itertools
import json
import os
import time
from collections.abc import Callable, Sequence
from typing import Any

from ...domain import model, rules
from ...domain.errors import InvalidParameter, KmsError, NotFound
from .. import Call, Handler, Parsed, Results, WireRequest, WireResponse
from ..json_body import read_json, write_json
from . import params as rq
from . import signer
from . import wire as w
from .shapes import b64, domain_spec, key_doc, keyring_doc, page_info, rfc3339

_ids = itertools.count(1)
_ID_SUFFIX = os.urandom(4).hex().upper()
_stamp: tuple[int, str] = (0, "")


def request_id() -> str:
    global _stamp
    now = int(time.time())
    if _stamp[0] != now:  # formatting the time costs more than the rest of the id: once a second
        _stamp = (now, time.strftime("%Y%m%d%H%M%S", time.gmtime(now)))
    return f"{_stamp[1]}{next(_ids):010X}{_ID_SUFFIX}"


def region_of(call: Call) -> str:
    """The credential scope's region (`Credential=AK/DATE/REGION/kms/request`), for the envelope: as the
    signature check found it, else (a request refused before or by that check) read from the header."""
    if call.region:
        return call.region[:64]
    auth = call.wire.headers.get("authorization", "")
    start = auth.find("Credential=")
    parts = auth[start + 11:].split(",", 1)[0].split("/") if start >= 0 else []
    return parts[2][:64] if len(parts) >= 5 else ""


def envelope(call: Call, status: int, *, result: Any = None, error: KmsError | None = None) -> WireResponse:
    if call.operation:  # routed: the request's one Action, of this Version
        action, version = call.operation, w.VERSION
    else:
        req = call.wire
        action, version = (req.param("Action") or "")[:64], (req.param("Version") or "")[:32]
    meta: dict[str, Any] = {"RequestId": request_id(), "Action": action, "Version": version, "Service": w.SERVICE,
                            "Region": region_of(call)}
    doc: dict[str, Any] = {"ResponseMetadata": meta}
    if error is not None:
        meta["Error"] = {"Code": error.code, "Message": error.message}
    else:
        doc["Result"] = result
    return WireResponse(status, write_json(doc))


# --- the request ------------------------------------------------------------------------------------
class UnknownAction(NotFound):
    """What Volcengine's API gateway answers for an Action (or Version) it has no operation for: the code
    and message of the error example on Volcengine's answer format page
    (https://www.volcengine.com/docs/6499/1125371); the page gives no status, 404 is ours (not found)."""

    code = "InvalidActionOrVersion"
    status = 404


def owns(req: WireRequest) -> bool:
    return req.path == "/" and (req.method == "POST" or (req.method == "GET" and req.param("Action") is not None))


def action_of(req: WireRequest) -> str:
    """The request's Action, which must be one this service serves, in its Version."""
    actions = [v for k, v in req.query if k == "Action"]
    action, version = (actions[0] if len(actions) == 1 else ""), req.param("Version") or ""
    if action not in w.METHODS or version != w.VERSION:
        raise UnknownAction(f"Could not find operation {action[:64]} for version {version[:32]}")
    return action


def route(req: WireRequest) -> Call:
    """The call of a request whose signature is not checked (tests, docs): its Action, no region."""
    return Call(req, action_of(req))


def authenticate(req: WireRequest, secret_for: Callable[[str], str | None]) -> Call:
    """The signature checked (its credential scope names the region), then the Action routed."""
    cred = signer.verify(method=req.method, path=req.path, query=req.query, headers=req.headers, body=req.body,
                         secret_for=secret_for)
    return Call(req, action_of(req), cred.region, None, cred.access_key)


def decode(call: Call) -> Call:
    """The call with its validated parameters: the JSON body of a POST, the query of a GET."""
    req, action = call.wire, call.operation
    if req.method == "GET":
        fields = [(k, v) for k, v in req.query if k not in ("Action", "Version")]
        return _with_params(call, rq.validate(action, w.unflatten(fields), from_query=True))
    if not req.body.strip():
        return _with_params(call, rq.validate(action, {}))
    try:
        params = read_json(req.body)
    except UnicodeDecodeError:
        raise InvalidParameter("The request body is invalid: it is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise InvalidParameter(f"The request body is invalid: not JSON ({exc.msg} at line {exc.lineno} column "
                               f"{exc.colno})") from None
    except (ValueError, RecursionError):
        raise InvalidParameter("The request body is invalid: a number is too long or the JSON nests too deeply") \
            from None
    if not isinstance(params, dict):
        raise InvalidParameter(f"The request body is invalid: it must be a JSON object of parameters, not a JSON "
                               f"{_json_type(params)}")
    return _with_params(call, rq.validate(action, params))


def _with_params(call: Call, params: rq.Params) -> Call:
    # Made directly: NamedTuple._replace goes through a generic map, three times slower, once a request.
    return Call(call.wire, call.operation, call.region, params, call.access_key)


def _json_type(value: Any) -> str:
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if value is None:
        return "null"
    return "boolean" if isinstance(value, bool) else "number"


_REFS: dict[tuple[str | None, str | None, str | None], model.KeyRef] = {}
_REFS_KEPT = 4096


def _ref(p: Any) -> model.KeyRef:
    # Kept per (id, keyring, name): a KeyRef is immutable, and a client names the same few keys request
    # after request; at most _REFS_KEPT of them.
    named = (p.KeyID, p.KeyringName, p.KeyName)
    ref = _REFS.get(named)
    if ref is None:
        if len(_REFS) >= _REFS_KEPT:
            _REFS.clear()
        ref = _REFS[named] = model.KeyRef(key_id=p.KeyID, keyring=p.KeyringName, name=p.KeyName)
    return ref


def _tags(tags: Sequence[rq.Tag]) -> dict[str, str]:
    out: dict[str, str] = {}
    for tag in tags:
        if tag.Key in out:
            raise InvalidParameter(f"The request parameter Tags is invalid: tag key '{tag.Key[:128]}' is given twice")
        out[tag.Key] = tag.Value
    return out


def _filters(filters: Sequence[rq.TagFilter]) -> dict[str, tuple[str, ...]]:
    return {f.Key: tuple(f.Values) for f in filters}


def _no_filters(p: rq.DescribeKeys | rq.DescribeKeyrings) -> None:
    if p.Filters not in (None, "", "{}", "[]"):
        raise InvalidParameter("The request parameter Filters is invalid: this service does not filter listings; "
                               "use KeyringName and TagFilters")


def _keyring_name(p: rq.UpdateKeyring | rq.DeleteKeyring | rq.QueryKeyring) -> str:
    if not p.KeyringName:
        raise InvalidParameter("The request parameter KeyringName is required: this service names keyrings by name")
    return p.KeyringName


# --- the handlers -------------------------------------------------------------------------------------
def _nothing(call: Call, action: Any, result: Any) -> dict[str, Any]:
    return {}  # UpdateKey, EnableKey, TagResources ...: Volcengine's answer has an empty Result


def _on_key(kind: type[model.OnKey]) -> Callable[[Call], Parsed]:
    """The parse of an action that only names a key."""
    return lambda call: kind(key=_ref(call.params))


def _key(field: str) -> Callable[[Call, Any, model.Key], dict[str, Any]]:
    return lambda call, action, key: {field: key_doc(key)}


def _create_key(call: Call) -> Parsed:
    p: rq.CreateKey = call.params
    rotation = (p.RotateInterval or rules.ROTATION_DAYS_DEFAULT) if p.RotateState == "Enable" else None
    return model.CreateKey(name=p.KeyName, keyring=p.KeyringName, spec=domain_spec(p.KeySpec), usage=p.KeyUsage,
                           origin=p.Origin, description=p.Description, tags=_tags(p.Tags), multi_region=p.MultiRegion,
                           rotation_days=rotation)


def _describe_keys(call: Call) -> Parsed:
    p: rq.DescribeKeys = call.params
    _no_filters(p)
    if p.KeyringID:
        raise InvalidParameter("The request parameter KeyringID is invalid: name the keyring by KeyringName")
    return model.DescribeKeys(keyring=p.KeyringName, offset=(p.CurrentPage - 1) * p.PageSize, limit=p.PageSize,
                              tag_filters=_filters(p.TagFilters))


def _key_page(call: Call, action: model.DescribeKeys, result: model.KeyPage) -> dict[str, Any]:
    return {"Keys": [key_doc(k) for k in result.keys],
            "PageInfo": page_info(action.offset, action.limit, len(result.keys), result.total)}


def _tag_resources(call: Call) -> Parsed:
    p: rq.TagResources = call.params
    tags = _tags(p.Tags)
    return tuple(model.TagKey(key=model.KeyRef(key_id=i), tags=tags) for i in p.ResourceIds)


def _untag_resources(call: Call) -> Parsed:
    p: rq.UntagResources = call.params
    return tuple(model.UntagKey(key=model.KeyRef(key_id=i), tag_keys=tuple(p.TagKeys)) for i in p.ResourceIds)


def _list_tags(call: Call) -> Parsed:
    p: rq.ListTagsForResources = call.params
    if p.ResourceIds:
        return tuple(model.DescribeKey(key=model.KeyRef(key_id=i)) for i in p.ResourceIds)
    if p.NextToken and not p.NextToken.isdigit():
        raise InvalidParameter("The request parameter NextToken is invalid: pass the NextToken of the last answer")
    offset = int(p.NextToken) if p.NextToken else 0
    return model.DescribeKeys(offset=offset, limit=p.MaxResults, tag_filters=_filters(p.TagFilters))


def _resource_tags(keys: Sequence[model.Key]) -> list[dict[str, str]]:
    return [{"ResourceId": k.key_id, "ResourceType": "keys", "TagKey": t, "TagValue": v}
            for k in keys for t, v in sorted(k.tags.items())]


def _listed_tags(call: Call, action: Parsed, result: Results) -> dict[str, Any]:
    if isinstance(result, model.KeyPage):
        assert isinstance(action, model.DescribeKeys)
        end = action.offset + len(result.keys)
        doc: dict[str, Any] = {"ResourceTags": _resource_tags(result.keys)}
        if end < result.total:
            doc["NextToken"] = str(end)
        return doc
    keys = [r for r in result if isinstance(r, model.Key)] if isinstance(result, Sequence) else []
    return {"ResourceTags": _resource_tags(keys)}


def _describe_keyrings(call: Call) -> Parsed:
    p: rq.DescribeKeyrings = call.params
    _no_filters(p)
    return model.DescribeKeyrings(offset=(p.CurrentPage - 1) * p.PageSize, limit=p.PageSize)


def _keyring_page(call: Call, action: model.DescribeKeyrings, result: model.KeyringPage) -> dict[str, Any]:
    return {"Keyrings": [keyring_doc(r, with_count=True) for r in result.keyrings],
            "PageInfo": page_info(action.offset, action.limit, len(result.keyrings), result.total)}


def _query_keyring(call: Call) -> Parsed:
    _keyring_name(call.params)
    return model.DescribeKeyrings(offset=0, limit=1000)


def _queried_keyring(call: Call, action: Any, result: model.KeyringPage) -> dict[str, Any]:
    wanted = call.params.KeyringName
    ring = next((r for r in result.keyrings if r.name == wanted), None)
    if ring is None:
        raise NotFound(f"Not found keyring [{wanted[:64]}].")
    return {"Keyring": keyring_doc(ring)}


def _re_encrypt(call: Call) -> Parsed:
    p: rq.ReEncrypt = call.params
    return model.ReEncrypt(ciphertext=p.CiphertextBlob,
                           new_key=model.KeyRef(p.NewKeyID, p.NewKeyringName, p.NewKeyName),
                           old_context=p.OldEncryptionContext, new_context=p.NewEncryptionContext)


def _ciphertext(call: Call, action: Any, result: model.Ciphertext) -> dict[str, Any]:
    return {"CiphertextBlob": b64(result.ciphertext)}


def _key_id_and(field: str, value: Callable[[Any], Any]) -> Callable[[Call, Any, Any], dict[str, Any]]:
    """An answer of the key's id and one field (the asymmetric and MAC actions name their key)."""
    return lambda call, action, result: {"KeyID": result.key_id, field: value(result)}


def _import_parameters(call: Call, action: Any, result: model.ImportParameters) -> dict[str, Any]:
    return {"KeyID": result.key_id, "ImportToken": result.import_token, "PublicKey": b64(result.public_key_der),
            "TokenExpireTime": rfc3339(result.valid_to)}


HANDLERS: dict[str, Handler] = {
    "CreateKey": Handler(_create_key, _key("Key")),
    "DescribeKey": Handler(_on_key(model.DescribeKey), _key("Key")),
    "DescribeKeys": Handler(_describe_keys, _key_page),
    "UpdateKey": Handler(lambda c: model.UpdateKey(key=_ref(c.params), new_name=c.params.NewKeyName,
                                                   description=c.params.Description), _nothing),
    "EnableKey": Handler(_on_key(model.EnableKey), _nothing),
    "DisableKey": Handler(_on_key(model.DisableKey), _nothing),
    "ScheduleKeyDeletion": Handler(
        lambda c: model.ScheduleKeyDeletion(key=_ref(c.params), pending_days=c.params.PendingWindowInDays), _nothing),
    "CancelKeyDeletion": Handler(_on_key(model.CancelKeyDeletion), _nothing),
    "ReplicateKey": Handler(
        lambda c: model.ReplicateKey(key=_ref(c.params), replica_region=c.params.ReplicaRegion,
                                     description=c.params.Description, tags=_tags(c.params.Tags)),
        _key("ReplicaKey")),
    "EnableKeyRotation": Handler(
        lambda c: model.EnableKeyRotation(key=_ref(c.params), rotation_days=c.params.RotateInterval), _nothing),
    "DisableKeyRotation": Handler(_on_key(model.DisableKeyRotation), _nothing),
    "TagResources": Handler(_tag_resources, _nothing),
    "UntagResources": Handler(_untag_resources, _nothing),
    "ListTagsForResources": Handler(_list_tags, _listed_tags),
    "CreateKeyring": Handler(
        lambda c: model.CreateKeyring(name=c.params.KeyringName, description=c.params.Description),
        lambda c, a, r: {"Keyring": keyring_doc(r)}),
    "DescribeKeyrings": Handler(_describe_keyrings, _keyring_page),
    "UpdateKeyring": Handler(
        lambda c: model.UpdateKeyring(name=_keyring_name(c.params), description=c.params.Description), _nothing),
    "DeleteKeyring": Handler(lambda c: model.DeleteKeyring(name=_keyring_name(c.params)), _nothing),
    "QueryKeyring": Handler(_query_keyring, _queried_keyring),
    "Encrypt": Handler(
        lambda c: model.Encrypt(key=_ref(c.params), plaintext=c.params.Plaintext, context=c.params.EncryptionContext),
        _ciphertext),
    "Decrypt": Handler(
        lambda c: model.Decrypt(ciphertext=c.params.CiphertextBlob, context=c.params.EncryptionContext),
        # Volcengine's DecryptResponse is the plaintext alone; AsymmetricDecryptResponse names the key too.
        lambda c, a, r: {"Plaintext": b64(r.plaintext)}),
    "GenerateDataKey": Handler(
        lambda c: model.GenerateDataKey(key=_ref(c.params), number_of_bytes=c.params.NumberOfBytes,
                                        context=c.params.EncryptionContext),
        lambda c, a, r: {"CiphertextBlob": b64(r.ciphertext), "Plaintext": b64(r.plaintext or b"")}),
    "ReEncrypt": Handler(_re_encrypt, _ciphertext),
    "AsymmetricEncrypt": Handler(
        lambda c: model.Encrypt(key=_ref(c.params), plaintext=c.params.Plaintext, algorithm=c.params.Algorithm),
        _key_id_and("CiphertextBlob", lambda r: b64(r.ciphertext))),
    "AsymmetricDecrypt": Handler(
        lambda c: model.Decrypt(key=_ref(c.params), ciphertext=c.params.CiphertextBlob, algorithm=c.params.Algorithm),
        _key_id_and("Plaintext", lambda r: b64(r.plaintext))),
    "AsymmetricSign": Handler(
        lambda c: model.Sign(key=_ref(c.params), message=c.params.Message, algorithm=c.params.Algorithm,
                             digest=c.params.MessageType == "DIGEST"),
        _key_id_and("Signature", lambda r: b64(r.signature))),
    "AsymmetricVerify": Handler(
        lambda c: model.Verify(key=_ref(c.params), message=c.params.Message, signature=c.params.Signature,
                               algorithm=c.params.Algorithm, digest=c.params.MessageType == "DIGEST"),
        _key_id_and("SignatureValid", lambda r: r.valid)),
    "GetPublicKey": Handler(_on_key(model.GetPublicKey), _key_id_and("PublicKey", lambda r: r.pem)),
    "GenerateMac": Handler(
        lambda c: model.GenerateMac(key=_ref(c.params), message=c.params.Message, algorithm=c.params.MacAlgorithm),
        _key_id_and("Mac", lambda r: b64(r.mac))),
    "VerifyMac": Handler(
        lambda c: model.VerifyMac(key=_ref(c.params), message=c.params.Message, mac=c.params.Mac,
                                  algorithm=c.params.MacAlgorithm),
        _key_id_and("MacValid", lambda r: r.valid)),
    "GetParametersForImport": Handler(
        lambda c: model.GetParametersForImport(key=_ref(c.params), wrapping_algorithm=c.params.WrappingAlgorithm,
                                               wrapping_key_spec=c.params.WrappingKeySpec),
        _import_parameters),
    "ImportKeyMaterial": Handler(
        lambda c: model.ImportKeyMaterial(key=_ref(c.params), import_token=c.params.ImportToken,
                                          encrypted_material=c.params.EncryptedKeyMaterial),
        _nothing),
}
if set(HANDLERS) != set(w.METHODS):
    raise RuntimeError(f"wire.METHODS and the handlers disagree: {sorted(set(HANDLERS) ^ set(w.METHODS))}")


# --- the dialect's server side ------------------------------------------------------------------------
def parse(call: Call) -> Parsed:
    return HANDLERS[call.operation].parse(call)


def result_doc(call: Call, action: Parsed, result: Results) -> Any:
    """The `Result` of the answer."""
    return HANDLERS[call.operation].shape(call, action, result)


def shape(call: Call, action: Parsed, result: Results) -> WireResponse:
    return envelope(call, 200, result=HANDLERS[call.operation].shape(call, action, result))


def shape_error(call: Call, error: KmsError) -> WireResponse:
    return envelope(call, error.status, error=error)
