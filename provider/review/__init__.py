"""`kmsctl review`: what a `pulumi preview --json` of a key stack does to the keys, for a reviewer.

`preview` reads the engine's JSON into steps; `plan` turns the steps (and, when a backend is reachable, the
live keys) into the key topology and its consequences; `markdown` and `page` write them for a pull request
comment and as a self-contained HTML page with the topology drawn in SVG.
"""

from __future__ import annotations

from .plan import Consequence, KeyBox, Review, build
from .preview import Preview, PreviewError, parse

__all__ = ["Consequence", "KeyBox", "Preview", "PreviewError", "Review", "build", "parse"]
