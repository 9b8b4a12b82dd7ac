"""`kmsctl` run in the test's own process: its exit status and what it wrote, as a user would see it.

`invoke(["keys", "list"])` calls the entry point's `main` with those arguments, standard input read from
`input`, and standard output and error captured (text and binary writes alike); `output` is both, in the
order they were written, as a terminal shows them. An exception that escapes the command is what a real
process would show: its traceback on stderr and exit status 1 (and `exception` holds it).
"""

from __future__ import annotations

import io
import sys
import traceback
from collections.abc import Sequence

from provider.cli import main


class _Tee(io.BytesIO):
    """One stream's bytes, each write also appended to the interleaved output of both."""

    def __init__(self, both: io.BytesIO) -> None:
        super().__init__()
        self.both = both

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self.both.write(data)
        return super().write(data)


class Result:
    def __init__(self, exit_code: int, stdout: bytes, stderr: bytes, output: bytes,
                 exception: BaseException | None) -> None:
        self.exit_code = exit_code
        self.exception = exception
        self.stdout_bytes = stdout
        self.stdout = stdout.decode(errors="replace")
        self.stderr = stderr.decode(errors="replace")
        self.output = output.decode(errors="replace")

    def __repr__(self) -> str:
        return f"Result(exit_code={self.exit_code}, output={self.output!r})"


def _text(raw: io.BytesIO) -> io.TextIOWrapper:
    return io.TextIOWrapper(raw, encoding="utf-8", errors="replace", write_through=True)  # type: ignore[arg-type]


def invoke(args: Sequence[str], input: bytes | str | None = None) -> Result:
    """Run `kmsctl ARGS` in process; never raises for what the command does (its exit status says)."""
    both = io.BytesIO()
    out, err = _Tee(both), _Tee(both)
    stdin = io.BytesIO(input.encode() if isinstance(input, str) else (input or b""))
    saved = sys.stdin, sys.stdout, sys.stderr
    code: int | str | None = None
    escaped: BaseException | None = None
    streams = _text(stdin), _text(out), _text(err)
    sys.stdin, sys.stdout, sys.stderr = streams
    try:
        try:
            main(list(args))
        except SystemExit as done:
            code = done.code
        except Exception as exc:  # noqa: BLE001 - shown as the interpreter would show it
            escaped, code = exc, 1
            sys.stderr.write("".join(traceback.format_exception(exc)))
    finally:
        sys.stdin, sys.stdout, sys.stderr = saved
        for stream in streams:
            stream.flush()
            stream.detach()  # the bytes stay readable: a collected wrapper would close them
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:  # sys.exit("message"): printed, status 1
        err.write(f"{code}\n".encode())
        status = 1
    return Result(status, out.getvalue(), err.getvalue(), both.getvalue(), escaped)
