"""Engine test program: one Noop resource whose inputs come from stack config."""

import pulumi
from noop_resource import Noop  # tests/engine is on PYTHONPATH (engine_harness.Engine.env)

config = pulumi.Config()
thing = Noop("thing", name=config.require("name"), value=config.get("value") or "default")
pulumi.export("value", thing.value)
pulumi.export("revision", thing.revision)
pulumi.export("secret_echo", config.get_secret("token"))
