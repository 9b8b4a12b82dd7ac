"""The dynamic-provider host of this project's engine: pulumi.dynamic's own host, plus the engine's import.

A stock Pulumi install runs `python -m pulumi.dynamic`, whose Read deserializes the provider from the
`__provider` property. The engine's import (`ResourceOptions(import_=ID)`, `pulumi import TYPE NAME ID`)
sends a Read with no properties at all, so that host cannot answer it (pulumi/pulumi#16175). Here such a
Read takes the provider of the resource type named in the URN (`pulumi-python:dynamic/kms:CustomKey` ->
`provider.resources.CustomKeyProvider`), serialized exactly as a program serializes it; everything else is
the SDK's own servicer, unchanged.

scripts/setup-engine.sh's `pulumi-resource-pulumi-python` shim runs this file ($KMS_PROVIDER_HOST, else this
clone's tools/engine/kms_provider_host.py). The language host tells programs that it does (see
`provider.resources._common.engine_imports`), so that `import_` is left to the engine instead of being turned
into an adoption by create.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import types
from pathlib import Path
from typing import Any

TYPE_PREFIX = "pulumi-python:dynamic/kms:"
RESOURCES = ("CustomKey", "ReplicaKey", "KeyAlias", "KeyTags")


def _sdk_host() -> types.ModuleType:
    """pulumi.dynamic.__main__ without its last line (`main()`, which serves at import time)."""
    spec = importlib.util.find_spec("pulumi.dynamic.__main__")
    if spec is None or spec.origin is None:
        raise SystemExit("kms provider host: the pulumi SDK has no pulumi.dynamic.__main__")
    source = Path(spec.origin).read_text()
    body, call, rest = source.rpartition("\nmain()")
    if not call or rest.strip():
        raise SystemExit(f"kms provider host: {spec.origin} does not end with main(); update this host")
    module = types.ModuleType("kms_sdk_dynamic_host")
    module.__file__ = spec.origin
    exec(compile(body, spec.origin, "exec"), module.__dict__)  # noqa: S102 (the installed SDK's own code)
    return module


def provider_for(urn: str) -> str:
    """The serialized provider of the resource type in `urn` (urn:pulumi:STACK::PROJECT::TYPE::NAME)."""
    from pulumi.dynamic.dynamic import serialize_provider

    parts = urn.split("::")
    type_ = parts[2] if len(parts) >= 4 else ""
    name = type_.removeprefix(TYPE_PREFIX)
    if not type_.startswith(TYPE_PREFIX) or name not in RESOURCES:
        known = ", ".join(TYPE_PREFIX + r for r in RESOURCES)
        raise ValueError(f"cannot import {type_ or urn}: this host imports only {known}")
    resources = importlib.import_module("provider.resources")
    return str(serialize_provider(getattr(resources, f"{name}Provider")()))


def main() -> None:
    # As under `python -m pulumi.dynamic`: modules of the program's directory (its providers) import.
    sys.path[0] = os.getcwd()
    sdk = _sdk_host()
    from pulumi.runtime import rpc

    class Servicer(sdk.DynamicResourceProviderServicer):  # type: ignore[name-defined,misc]
        def Read(self, request: Any, context: Any) -> Any:  # noqa: N802 (gRPC method name)
            props = rpc.deserialize_properties(request.properties)
            if sdk.PROVIDER_KEY in props:
                return super().Read(request, context)
            # The engine's import: no state, no provider.
            import grpc

            try:
                serialized = provider_for(request.urn)
            except ValueError as err:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(err))
            copy = type(request)()
            copy.CopyFrom(request)
            copy.properties.update({sdk.PROVIDER_KEY: serialized})
            response = super().Read(copy, context)
            if not response.id:
                type_ = request.urn.split("::")[2]
                context.abort(
                    grpc.StatusCode.NOT_FOUND,
                    f"import of {type_} {request.id}: no such key or alias (an id or alias of the stack's region "
                    "kms:region, REGION:ID, or a TRN)",
                )
            return response

    sdk.DynamicResourceProviderServicer = Servicer  # main() builds the servicer by this name
    sdk.main()


if __name__ == "__main__":
    sys.exit(main())
