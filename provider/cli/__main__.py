"""`python -m provider.cli ARGS` runs `kmsctl ARGS` (e.g. under `python -X importtime`)."""

from . import main

main()
