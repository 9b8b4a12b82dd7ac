"""The domain's value classes (provider/values.py) behave as the frozen dataclasses they replaced:
keyword construction, immutability, equality by value, pickling, and no secret in a repr."""

from __future__ import annotations

import pickle

import pytest

from provider.config import Settings
from provider.domain import model
from provider.envelope.format import EncryptedDataKey


def test_actions_take_keywords_with_defaults_and_refuse_the_rest() -> None:
    a = model.CreateKey(name="orders")
    assert (a.name, a.keyring, a.spec, dict(a.tags)) == ("orders", None, "AES_256", {})
    assert model.CreateKey(name="x").tags is not model.CreateKey(name="y").tags  # a fresh default each
    with pytest.raises(TypeError, match="missing required argument 'name'"):
        model.CreateKey()  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="unexpected keyword argument 'colour'"):
        model.CreateKey(name="x", colour="red")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="positional"):
        model.DescribeKey(model.KeyRef("k"))  # type: ignore[misc]
    assert model.KeyRef("k") == model.KeyRef(key_id="k")  # positional where the class allows it


def test_values_are_immutable_equal_by_value_and_hashable() -> None:
    ref = model.KeyRef(key_id="k")
    with pytest.raises(AttributeError, match="immutable"):
        ref.key_id = "other"  # type: ignore[misc]
    assert ref == model.KeyRef(key_id="k") and ref != model.KeyRef(key_id="j")
    assert len({ref, model.KeyRef(key_id="k")}) == 1
    assert model.DescribeKey(key=ref) != model.EnableKey(key=ref)  # another action, though the same fields
    assert model.replace(ref, name="n") == model.KeyRef(key_id="k", name="n")


def test_values_survive_pickling_and_as_dict_nests() -> None:
    linked = model.LinkedKey("id", "trn", "cn-east-3")
    action = model.Encrypt(key=model.KeyRef(key_id="k"), plaintext=b"p", context={"a": "b"})
    assert pickle.loads(pickle.dumps(action)) == action
    assert pickle.loads(pickle.dumps(linked)) == linked
    assert model.as_dict(model.KeyPage(keys=(), total=0)) == {"keys": (), "total": 0}
    assert model.as_dict(action)["key"] == {"key_id": "k", "keyring": None, "name": None}


def test_no_secret_reaches_a_repr() -> None:
    edk = EncryptedDataKey("cn-north-4", "trn", "id", b"SECRET-BLOB")
    assert "SECRET-BLOB" not in repr(edk) and "key_id='id'" in repr(edk)
    settings = Settings(access_key="AK", secret_key="SECRET-KEY")
    assert "SECRET-KEY" not in repr(settings)
