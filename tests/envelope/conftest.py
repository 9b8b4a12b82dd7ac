"""Keys for the envelope tests: two independent regional keys, as in Alibaba Cloud KMS, Use multi-region CMKs to encrypt
and decrypt data, and a multi-region primary with a replica (Huawei Cloud DEW, Creating a Replica Key), created on the
`kms` fixture's fresh service."""

from __future__ import annotations

import time

import pytest

from provider.client import KmsClient
from provider.domain import model
from provider.envelope import RegionalKey

NORTH = "cn-north-4"
EAST = "cn-east-3"
KeyPair = tuple[RegionalKey, RegionalKey]  # two keys, one per region (north first)


@pytest.fixture
def regional_keys(kms: KmsClient) -> KeyPair:
    """Alibaba Cloud KMS, Use multi-region CMKs to encrypt and decrypt data: 'You must create AES or SM4 CMKs in both
    regions' - two unrelated keys."""
    north = kms.in_region(NORTH).create_key("envelope-beijing").key_id
    east = kms.in_region(EAST).create_key("envelope-shanghai").key_id
    return RegionalKey(NORTH, north), RegionalKey(EAST, east)


def wait_enabled(client: KmsClient, key_id: str, timeout: float = 10.0) -> model.Key:
    # Huawei Cloud DEW, Creating a Replica Key: replication is asynchronous; the replica is usable once it leaves
    # `Creating`.
    deadline = time.monotonic() + timeout
    while True:
        key = client.describe_key(key_id)
        if key.state == "Enable" or time.monotonic() > deadline:
            return key
        time.sleep(0.05)


@pytest.fixture
def replica_pair(kms: KmsClient) -> KeyPair:
    """A primary in cn-north-4 and its replica in cn-east-3 (the region table of Huawei Cloud DEW, Creating a Replica
    Key allows it)."""
    primary = kms.in_region(NORTH).create_key("mrk-primary").key_id
    replica = kms.in_region(NORTH).replicate_key(primary, EAST).key_id
    assert wait_enabled(kms.in_region(EAST), replica).state == "Enable"
    return RegionalKey(NORTH, primary), RegionalKey(EAST, replica)
