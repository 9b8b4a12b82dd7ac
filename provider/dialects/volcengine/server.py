"""Server side of the Volcengine dialect: a request into domain actions, their results into seed 003's
envelope. It parses and shapes, and decides nothing: every rule is the emulator's."""

from __future__ import annotations

import itertools
import json
import os
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ...domain import model, rules
from ...domain.errors import InvalidParameter, KmsError, NotFound
from .. import Parsed, Results, WireRequest, WireResponse, read_json, write_json
from . import wire as w

if TYPE_CHECKING:
    from . import params as rq
else:
    class _Params:
        """The request models (params.py, on the generated models.py), loaded by the first request that
        needs them: HttpBackend imports this module with the dialect and never parses a request."""

        def __getattr__(self, name: str) -> Any:
            from . import params

            globals()["rq"] = params
            return getattr(params, name)

    rq = _Params()
from .shapes import b64, domain_spec, key_doc, keyring_doc, page_info, rfc3339

_ids = itertools.count(1)
_ID_SUFFIX = os.urandom(4).hex().upper()
_HEADERS = [("content-type", "application/json")]


_stamp: tuple[int, str] = (0, "")


def request_id() -> str:
    global _stamp
    now = int(time.time())
    if _stamp[0] != now:  # formatting the time costs more than the rest of the id: once a second
        _stamp = (now, time.strftime("%Y%m%d%H%M%S", time.gmtime(now)))
    return f"{_stamp[1]}{next(_ids):010X}{_ID_SUFFIX}"


def region_of(req: WireRequest) -> str:
    """The credential scope's region (`Credential=AK/DATE/REGION/kms/request`), for the envelope: as the
    signature check found it, else (a request refused before or by that check) read from the header."""
    noted: str | None = req.notes.get("region")
    if noted is not None:
        return noted[:64]
    auth = req.headers.get("authorization", "")
    start = auth.find("Credential=")
    parts = auth[start + 11:].split(",", 1)[0].split("/") if start >= 0 else []
    return parts[2][:64] if len(parts) >= 5 else ""


def envelope(req: WireRequest, status: int, *, result: Any = None, error: KmsError | None = None) -> WireResponse:
    meta: dict[str, Any] = {"RequestId": request_id(), "Action": (req.param("Action") or "")[:64],
                            "Version": (req.param("Version") or "")[:32], "Service": w.SERVICE,
                            "Region": region_of(req)}
    doc: dict[str, Any] = {"ResponseMetadata": meta}
    if error is not None:
        meta["Error"] = {"Code": error.code, "Message": error.message}
    else:
        doc["Result"] = result
    return WireResponse(status, write_json(doc), _HEADERS)


# --- parse ------------------------------------------------------------------------------------------
class UnknownAction(NotFound):
    """What Volcengine's API gateway answers for an Action (or Version) it has no operation for: the code
    and message of the error example on Volcengine's answer format page
    (https://www.volcengine.com/docs/6499/1125371); the page gives no status, 404 is ours (not found)."""

    code = "InvalidActionOrVersion"
    status = 404


def params_of(req: WireRequest) -> tuple[str, rq.Params]:
    """The action's name and its validated parameters: the JSON body of a POST, the query of a GET."""
    actions = [v for k, v in req.query if k == "Action"]
    action, version = (actions[0] if len(actions) == 1 else ""), req.param("Version") or ""
    if action not in w.METHODS or version != w.VERSION:
        raise UnknownAction(f"Could not find operation {action[:64]} for version {version[:32]}")
    if req.method == "GET":
        fields = [(k, v) for k, v in req.query if k not in ("Action", "Version")]
        return action, rq.validate(action, w.unflatten(fields), from_query=True)
    if not req.body.strip():
        return action, rq.validate(action, {})
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
    return action, rq.validate(action, params)


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


def to_action(action: str, p: Any) -> Parsed:  # noqa: C901 - one branch per action, flat on purpose
    m = model
    # The hot actions first: a request walks this chain to its branch.
    if type(p) is rq.DescribeKey:
        return m.DescribeKey(key=_ref(p))
    if isinstance(p, rq.Encrypt):
        return m.Encrypt(key=_ref(p), plaintext=p.Plaintext, context=p.EncryptionContext)
    if isinstance(p, rq.Decrypt):
        return m.Decrypt(ciphertext=p.CiphertextBlob, context=p.EncryptionContext)
    if isinstance(p, rq.GenerateDataKey):
        return m.GenerateDataKey(key=_ref(p), number_of_bytes=p.NumberOfBytes, context=p.EncryptionContext)
    if isinstance(p, rq.CreateKey):
        rotation = (p.RotateInterval or rules.ROTATION_DAYS_DEFAULT) if p.RotateState == "Enable" else None
        return m.CreateKey(name=p.KeyName, keyring=p.KeyringName, spec=domain_spec(p.KeySpec), usage=p.KeyUsage,
                           origin=p.Origin, description=p.Description, tags=_tags(p.Tags), multi_region=p.MultiRegion,
                           rotation_days=rotation)
    if isinstance(p, rq.DescribeKeys):
        _no_filters(p)
        if p.KeyringID:
            raise InvalidParameter("The request parameter KeyringID is invalid: name the keyring by KeyringName")
        return m.DescribeKeys(keyring=p.KeyringName, offset=(p.CurrentPage - 1) * p.PageSize, limit=p.PageSize,
                              tag_filters=_filters(p.TagFilters))
    if isinstance(p, rq.UpdateKey):
        return m.UpdateKey(key=_ref(p), new_name=p.NewKeyName, description=p.Description)
    if isinstance(p, rq.ScheduleKeyDeletion):
        return m.ScheduleKeyDeletion(key=_ref(p), pending_days=p.PendingWindowInDays)
    if isinstance(p, rq.ReplicateKey):
        return m.ReplicateKey(key=_ref(p), replica_region=p.ReplicaRegion, description=p.Description,
                              tags=_tags(p.Tags))
    if isinstance(p, rq.EnableKeyRotation):
        return m.EnableKeyRotation(key=_ref(p), rotation_days=p.RotateInterval)
    if isinstance(p, rq.TagResources):
        tags = _tags(p.Tags)
        return tuple(m.TagKey(key=m.KeyRef(key_id=i), tags=tags) for i in p.ResourceIds)
    if isinstance(p, rq.UntagResources):
        return tuple(m.UntagKey(key=m.KeyRef(key_id=i), tag_keys=tuple(p.TagKeys)) for i in p.ResourceIds)
    if isinstance(p, rq.ListTagsForResources):
        if p.ResourceIds:
            return tuple(m.DescribeKey(key=m.KeyRef(key_id=i)) for i in p.ResourceIds)
        offset = int(p.NextToken) if p.NextToken and p.NextToken.isdigit() else 0
        if p.NextToken and not p.NextToken.isdigit():
            raise InvalidParameter("The request parameter NextToken is invalid: pass the NextToken of the last answer")
        return m.DescribeKeys(offset=offset, limit=p.MaxResults, tag_filters=_filters(p.TagFilters))
    if isinstance(p, rq.CreateKeyring):
        return m.CreateKeyring(name=p.KeyringName, description=p.Description)
    if isinstance(p, rq.DescribeKeyrings):
        _no_filters(p)
        return m.DescribeKeyrings(offset=(p.CurrentPage - 1) * p.PageSize, limit=p.PageSize)
    if isinstance(p, rq.UpdateKeyring):
        return m.UpdateKeyring(name=_keyring_name(p), description=p.Description)
    if isinstance(p, rq.DeleteKeyring):
        return m.DeleteKeyring(name=_keyring_name(p))
    if isinstance(p, rq.QueryKeyring):
        _keyring_name(p)
        return m.DescribeKeyrings(offset=0, limit=1000)
    if isinstance(p, rq.ReEncrypt):
        return m.ReEncrypt(ciphertext=p.CiphertextBlob, new_key=m.KeyRef(p.NewKeyID, p.NewKeyringName, p.NewKeyName),
                           old_context=p.OldEncryptionContext, new_context=p.NewEncryptionContext)
    if isinstance(p, rq.AsymmetricEncrypt):
        return m.Encrypt(key=_ref(p), plaintext=p.Plaintext, algorithm=p.Algorithm)
    if isinstance(p, rq.AsymmetricDecrypt):
        return m.Decrypt(key=_ref(p), ciphertext=p.CiphertextBlob, algorithm=p.Algorithm)
    if isinstance(p, rq.AsymmetricVerify):
        return m.Verify(key=_ref(p), message=p.Message, signature=p.Signature, algorithm=p.Algorithm,
                        digest=p.MessageType == "DIGEST")
    if isinstance(p, rq.AsymmetricSign):
        return m.Sign(key=_ref(p), message=p.Message, algorithm=p.Algorithm, digest=p.MessageType == "DIGEST")
    if isinstance(p, rq.VerifyMac):
        return m.VerifyMac(key=_ref(p), message=p.Message, mac=p.Mac, algorithm=p.MacAlgorithm)
    if isinstance(p, rq.GenerateMac):
        return m.GenerateMac(key=_ref(p), message=p.Message, algorithm=p.MacAlgorithm)
    if isinstance(p, rq.GetParametersForImport):
        return m.GetParametersForImport(key=_ref(p), wrapping_algorithm=p.WrappingAlgorithm,
                                        wrapping_key_spec=p.WrappingKeySpec)
    if isinstance(p, rq.ImportKeyMaterial):
        return m.ImportKeyMaterial(key=_ref(p), import_token=p.ImportToken, encrypted_material=p.EncryptedKeyMaterial)
    # The actions that only name a key: DescribeKey, EnableKey, DisableKey, CancelKeyDeletion,
    # DisableKeyRotation, GetPublicKey.
    simple: type[m.OnKey] = getattr(m, action)
    return simple(key=_ref(p))


def parse(req: WireRequest) -> Parsed:
    action, params = params_of(req)
    return to_action(action, params)


# --- shape ------------------------------------------------------------------------------------------
def _resource_tags(resource_type: str, keys: Sequence[model.Key]) -> list[dict[str, str]]:
    return [{"ResourceId": k.key_id, "ResourceType": resource_type, "TagKey": t, "TagValue": v}
            for k in keys for t, v in sorted(k.tags.items())]


def result_doc(req: WireRequest, action: Parsed, result: Results) -> Any:  # noqa: C901
    name = req.param("Action") or ""
    if name == "ListTagsForResources":
        resource_type = "keys"
        if isinstance(result, model.KeyPage):
            assert isinstance(action, model.DescribeKeys)
            end = action.offset + len(result.keys)
            doc: dict[str, Any] = {"ResourceTags": _resource_tags(resource_type, result.keys)}
            if end < result.total:
                doc["NextToken"] = str(end)
            return doc
        keys = [r for r in result if isinstance(r, model.Key)] if isinstance(result, Sequence) else []
        return {"ResourceTags": _resource_tags(resource_type, keys)}
    if isinstance(action, tuple):
        return {}  # TagResources / UntagResources: Volcengine answers nothing
    if name == "QueryKeyring":
        wanted = req.param("KeyringName") or ""
        assert isinstance(result, model.KeyringPage)
        ring = next((r for r in result.keyrings if r.name == wanted), None)
        if ring is None:
            raise NotFound(f"Not found keyring [{wanted[:64]}].")
        return {"Keyring": keyring_doc(ring)}
    if isinstance(result, model.Key):
        if name in ("CreateKey", "DescribeKey"):
            return {"Key": key_doc(result)}
        if name == "ReplicateKey":
            return {"ReplicaKey": key_doc(result)}
        return {}  # UpdateKey, EnableKey, ...: Volcengine answers nothing
    if isinstance(result, model.KeyPage):
        assert isinstance(action, model.DescribeKeys)
        return {"Keys": [key_doc(k) for k in result.keys],
                "PageInfo": page_info(action.offset, action.limit, len(result.keys), result.total)}
    if isinstance(result, model.Keyring):
        return {"Keyring": keyring_doc(result)} if name == "CreateKeyring" else {}
    if isinstance(result, model.KeyringPage):
        assert isinstance(action, model.DescribeKeyrings)
        return {"Keyrings": [keyring_doc(r, with_count=True) for r in result.keyrings],
                "PageInfo": page_info(action.offset, action.limit, len(result.keyrings), result.total)}
    if isinstance(result, model.Ciphertext):
        if name == "AsymmetricEncrypt":
            return {"KeyID": result.key_id, "CiphertextBlob": b64(result.ciphertext)}
        return {"CiphertextBlob": b64(result.ciphertext)}
    if isinstance(result, model.Plaintext):
        # Volcengine's DecryptResponse is the plaintext alone; AsymmetricDecryptResponse names the key too.
        if name == "AsymmetricDecrypt":
            return {"KeyID": result.key_id, "Plaintext": b64(result.plaintext)}
        return {"Plaintext": b64(result.plaintext)}
    if isinstance(result, model.DataKey):
        return {"CiphertextBlob": b64(result.ciphertext), "Plaintext": b64(result.plaintext or b"")}
    if isinstance(result, model.Signature):
        return {"KeyID": result.key_id, "Signature": b64(result.signature)}
    if isinstance(result, model.Mac):
        return {"KeyID": result.key_id, "Mac": b64(result.mac)}
    if isinstance(result, model.Verdict):
        return {"KeyID": result.key_id, ("MacValid" if name == "VerifyMac" else "SignatureValid"): result.valid}
    if isinstance(result, model.PublicKey):
        return {"KeyID": result.key_id, "PublicKey": result.pem}
    if isinstance(result, model.ImportParameters):
        return {"KeyID": result.key_id, "ImportToken": result.import_token, "PublicKey": b64(result.public_key_der),
                "TokenExpireTime": rfc3339(result.valid_to)}
    return {}


def shape(req: WireRequest, action: Parsed, result: Results) -> WireResponse:
    return envelope(req, 200, result=result_doc(req, action, result))


def shape_error(req: WireRequest, error: KmsError) -> WireResponse:
    return envelope(req, error.status, error=error)
