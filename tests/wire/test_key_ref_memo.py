"""The dialects keep the KeyRef of each key a request names (a value, the same for the same name): a
different name never gets another's, and the memo stays bounded however many keys are named."""

from __future__ import annotations

from types import SimpleNamespace

from provider.dialects.huaweicloud import server as huawei
from provider.dialects.volcengine import server as volcengine
from provider.domain import model


def test_huawei_key_refs_are_the_named_key_and_bounded() -> None:
    assert huawei.key_ref("a") == model.KeyRef(key_id="a")
    assert huawei.key_ref("b") == model.KeyRef(key_id="b")
    for i in range(huawei._REFS_KEPT + 10):
        assert huawei.key_ref(f"k{i}").key_id == f"k{i}"
    assert len(huawei._REFS) <= huawei._REFS_KEPT


def test_volcengine_key_refs_tell_id_keyring_and_name_apart() -> None:
    def ref(key_id: str | None, keyring: str | None, name: str | None) -> model.KeyRef:
        return volcengine._ref(SimpleNamespace(KeyID=key_id, KeyringName=keyring, KeyName=name))

    assert ref("a", None, None) == model.KeyRef(key_id="a")
    assert ref(None, "ring", "a") == model.KeyRef(keyring="ring", name="a")
    assert ref(None, "other", "a") == model.KeyRef(keyring="other", name="a")
    for i in range(volcengine._REFS_KEPT + 10):
        assert ref(None, "default", f"k{i}").name == f"k{i}"
    assert len(volcengine._REFS) <= volcengine._REFS_KEPT
