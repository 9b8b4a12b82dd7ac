"""Worker processes for the durability and concurrency tests (run as `python -m`)."""

from __future__ import annotations

import sys

from provider.client import KmsClient
from provider.emulator import Emulator


def writer(state: str) -> None:
    """Create keys forever, printing each id only after the service acknowledged it."""
    kms = KmsClient(Emulator(state, quota=1_000_000), "cn-north-4")
    i = 0
    while True:
        key = kms.create_key(f"w{i}", tags={"n": str(i)})
        print(key.key_id, flush=True)
        i += 1


def mixed(state: str, worker: int, ops: int) -> None:
    """`ops` mixed operations; any error escapes and fails the process."""
    kms = KmsClient(Emulator(state, quota=1_000_000, replication_delay=0), "cn-north-4")
    east = kms.in_region("cn-east-3")
    done = 0
    n = 0
    while done < ops:
        key = kms.create_key(f"p{worker}-{n}")
        replica = kms.replicate_key(key.key_id, "cn-east-3")
        blob = kms.encrypt(key.key_id, f"{worker}:{n}".encode(), {"w": str(worker)})
        assert east.decrypt(blob, {"w": str(worker)})[1] == f"{worker}:{n}".encode()
        kms.tag_resources(key.key_id, {"worker": str(worker), "n": str(n)})
        kms.create_alias(f"alias/p{worker}-{n}", key.key_id)
        kms.disable_key(key.key_id)
        kms.enable_key(key.key_id)
        _, dek, wrapped = kms.generate_data_key(key.key_id)
        assert kms.decrypt(wrapped)[1] == dek
        east.schedule_key_deletion(replica.key_id, 7)
        done += 10
        n += 1
    print(n, flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "writer":
        writer(sys.argv[2])
    else:
        mixed(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
