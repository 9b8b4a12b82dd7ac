"""What each backend's API can do, one table per cloud, decided by `kms:dialect` (never by host name).

The provider never relies on something the configured cloud does not define: an input it cannot honour
fails at preview naming the input and the cloud, and where the cloud is silent (Huawei Cloud's answers name
no replica links) the resources keep what they know themselves. The embedded emulator can do everything.
"""

from __future__ import annotations

from ..values import Value


class Capabilities(Value, kw_only=True):
    cloud: str  # how messages name it: "Huawei Cloud KMS", "Volcengine KMS"
    aliases: bool  # CreateAlias / ListAliases ... exist
    keyrings: bool  # keys live in named keyrings
    enterprise_projects: bool  # a key belongs to an enterprise project
    links_in_answers: bool  # describing a key names its primary and its replicas
    multi_region_at_create: bool  # a key is replicable only if created multi-region (MultiRegion at CreateKey)
    decrypt_names_key: bool  # Decrypt's answer says which key opened the ciphertext
    clock: bool  # the emulator's clock (the clouds have none; `kmsctl serve` keeps it under /_emulator/)

    def lacking(self, what: str, prop: str) -> str:
        """The message for an input `prop` that needs `what` (a capability's name) of a cloud without it."""
        reason = _REASONS.get(what, what)
        return f"{prop}: {self.cloud} {reason}"


_REASONS = {
    "aliases": "has no key aliases (its API defines no alias operations); name keys by id, or by keyring and "
               "key name",
    "keyrings": "has no keyrings; leave keyring_name unset (or 'default')",
    "enterprise_projects": "has no enterprise projects; leave enterprise_project unset (or 'default')",
    "clock": "has no clock to move; only the emulator (embedded, or kmsctl serve under /_emulator/) has one",
}

# The embedded emulator keeps every rule of the documented services and answers everything the domain asks.
EMULATOR = Capabilities(
    cloud="the embedded emulator", aliases=True, keyrings=True, enterprise_projects=True, links_in_answers=True,
    multi_region_at_create=False, decrypt_names_key=True, clock=True,
)

# Huawei Cloud KMS (DEW) as `huaweicloudsdkkms` defines it: aliases (/v1.0/{project_id}/kms/aliases) and
# enterprise projects (enterprise_project_id) exist; keyrings do not; KeyDetails and ReplicateKeyResponse
# name no primary or replica; DecryptDataResponse carries key_id; every key is replicable.
HUAWEICLOUD = Capabilities(
    cloud="Huawei Cloud KMS", aliases=True, keyrings=False, enterprise_projects=True, links_in_answers=False,
    multi_region_at_create=False, decrypt_names_key=True, clock=False,
)

# Volcengine KMS (OpenAPI version 2021-02-18, `volcenginesdk-kms`): keyrings exist; no alias action and
# no enterprise project parameter; DescribeKey answers MultiRegionConfiguration (primary and replicas by
# TRN); CreateKey's MultiRegion makes a key replicable; DecryptResponse holds only Plaintext.
VOLCENGINE = Capabilities(
    cloud="Volcengine KMS", aliases=False, keyrings=True, enterprise_projects=False, links_in_answers=True,
    multi_region_at_create=True, decrypt_names_key=False, clock=False,
)
