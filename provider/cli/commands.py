"""The commands of `kmsctl`, their arguments and help, read by one parser: the standard library's argparse.

Each command is a `Command` in COMMANDS (or in a `Group` of them): its name, help, the function that adds
its arguments, and the function that runs it, named as `module:function` of this package and imported only
when that command runs. When the first words name a command (`kmsctl keys list ...`), that command's own
parser reads the rest, as the whole parser would after handing them down; otherwise (help, no command, an
unknown one) the whole parser, which names every command, reads them. Either way `kmsctl encrypt` pays for
nothing `kmsctl keys` needs, nor the other way round.

Exit status: 0 done; 1 the command failed (one line on stderr, never a traceback); 2 a usage error
(argparse's usage line and `kmsctl CMD: error: ...`), or a command whose optional part is not installed;
130 interrupted.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from collections.abc import Sequence

PROG = "kmsctl"
DESCRIPTION = "Multi-region KMS keys: emulator server, keys, clock, envelope encryption."
STACK_HELP = ("Take the backend (kms:endpoint, kms:dialect, kms:region, credentials, kms:emulatorPath) from this "
              "stack's config, read with `pulumi config` in the project's directory; default: the environment.")
REGION_HELP = "Region (default: kms:region with --stack, else KMS_REGION, else cn-north-4)."
FORCE_HELP = "Replace OUT if it is an existing file (without it, an existing file is refused and kept)."

# The optional parts of the package (pyproject.toml extras) and the modules each brings.
EXTRAS = {"cli": ("rich",), "server": ("uvicorn", "starlette", "httptools", "pydantic")}


class UsageError(Exception):
    """An argument breaks a rule that only the command can check; `flag` names it. Exit status 2."""

    def __init__(self, message: str, flag: str) -> None:
        super().__init__(message)
        self.message = message
        self.flag = flag


class Failed(Exception):
    """The command failed; `str()` is the one line for stderr."""

    def __init__(self, line: str, status: int = 1) -> None:
        super().__init__(line)
        self.status = status


def require_extra(extra: str, command: str) -> None:
    """Fail (status 2) naming the extra to install when one of its modules is missing."""
    from importlib.util import find_spec

    for module in EXTRAS[extra]:
        if find_spec(module) is None:
            raise Failed(f"{command} needs the [{extra}] extra ({module} is not installed): "
                         f"pip install 'kms-keys-as-code[{extra}]'", 2)


_COLUMNS: list[int] = []  # found once: argparse makes a formatter for every argument added


def _columns() -> int:
    """The terminal's width as shutil.get_terminal_size finds it (COLUMNS, else standard output's
    terminal, else 80), without importing shutil and the compressors it brings."""
    if not _COLUMNS:
        _COLUMNS.append(_find_columns())
    return _COLUMNS[0]


def _find_columns() -> int:
    import os

    given = os.environ.get("COLUMNS", "")
    if given.isdigit() and int(given) > 0:
        return int(given)
    try:
        columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
    except (AttributeError, ValueError, OSError):  # no standard output, or not a terminal
        return 80
    return columns or 80


class _Formatter(argparse.HelpFormatter):
    """argparse's help, keeping the paragraphs of a description (argparse would run them into one) and
    never breaking a line inside a flag's name (`--name-prefix`). argparse makes one for every argument
    added (to check its metavar): the width is found here without shutil."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                 width: int | None = None) -> None:
        super().__init__(prog, indent_increment, max_help_position, _columns() - 2 if width is None else width)

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        import textwrap

        return "\n\n".join(textwrap.fill(" ".join(p.split()), width, initial_indent=indent, subsequent_indent=indent,
                                         break_on_hyphens=False) for p in text.split("\n\n"))

    def _split_lines(self, text: str, width: int) -> list[str]:
        import textwrap

        return textwrap.wrap(" ".join(text.split()), width, break_on_hyphens=False)


def _int_in(low: int, high: int, what: str) -> Callable[[str], int]:
    def read(text: str) -> int:
        if not (text.isascii() and text.isdigit()) or not low <= int(text) <= high:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what} in {low}..{high}")
        return int(text)

    return read


def _stack(p: argparse.ArgumentParser) -> None:
    p.add_argument("--stack", metavar="NAME", help=STACK_HELP)


def _region(p: argparse.ArgumentParser) -> None:
    p.add_argument("--region", help=REGION_HELP)


def _in_out(p: argparse.ArgumentParser) -> None:
    p.add_argument("inp", metavar="IN", help="Input file, or - for standard input.")
    p.add_argument("out", metavar="OUT", help="Output file, or - for standard output.")


def _context_force_stack(p: argparse.ArgumentParser) -> None:
    p.add_argument("--context", "-c", action="append", metavar="NAME=VALUE",
                   help="An encryption context pair; repeat for more.")
    p.add_argument("--force", action="store_true", help=FORCE_HELP)
    _stack(p)


def _encrypt(p: argparse.ArgumentParser) -> None:
    from ..envelope.format import DEFAULT_FRAME_SIZE, MAX_FRAME_SIZE, MIN_FRAME_SIZE

    _in_out(p)
    p.add_argument("--key", "-k", action="append", required=True, metavar="REGION:KEY",
                   help="A key to encrypt under (id or alias); repeat for more regions. The first generates the "
                        "data key.")
    p.add_argument("--frame-size", type=_int_in(MIN_FRAME_SIZE, MAX_FRAME_SIZE, "a frame size"),
                   default=DEFAULT_FRAME_SIZE, metavar="BYTES",
                   help=f"Plaintext bytes per authenticated frame, {MIN_FRAME_SIZE}..{MAX_FRAME_SIZE} "
                        "(default: %(default)s).")
    _context_force_stack(p)


def _decrypt(p: argparse.ArgumentParser) -> None:
    _in_out(p)
    p.add_argument("--key", "-k", required=True, metavar="REGION:KEY",
                   help="The key to decrypt with: one the message was encrypted under, or a replica or the primary "
                        "of one.")
    _context_force_stack(p)


def _review(p: argparse.ArgumentParser) -> None:
    p.add_argument("preview", nargs="?", default="-", metavar="PREVIEW|-",
                   help="What `pulumi preview --json` printed (file, or - for standard input; the default).")
    p.add_argument("--markdown", metavar="OUT", help="Write the Markdown here (default: standard output).")
    p.add_argument("--html", metavar="OUT", help="Write the page with the key topology here.")
    p.add_argument("--force", action="store_true",
                   help="Replace an existing --markdown or --html file (without it, an existing file is refused "
                        "and kept).")
    _stack(p)


def _serve(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1", help="Address to listen on; loopback unless told otherwise "
                                                       "(default: %(default)s).")
    p.add_argument("--port", type=_int_in(0, 65535, "a TCP port"), default=8400,
                   help="TCP port to listen on (default: %(default)s).")
    p.add_argument("--state", metavar="PATH",
                   help="Directory of the emulator state (created if missing); default: KMS_EMULATOR_PATH, else "
                        ".kms-emulator beside the project's Pulumi.yaml, the embedded emulator's state.")
    p.add_argument("--log-level", default="info", metavar="LEVEL",
                   help="Log level: debug, info, warning or error (default: %(default)s).")
    _stack(p)


def _keys_list(p: argparse.ArgumentParser) -> None:
    _region(p)
    p.add_argument("--json", dest="as_json", action="store_true", help="Print JSON instead of a table.")
    p.add_argument("--name-prefix", metavar="PREFIX",
                   help="Only keys whose name starts with PREFIX (e.g. a resource's name: autonamed keys are "
                        "NAME-xxxxxxx).")
    p.add_argument("--tag", action="append", metavar="KEY[=VALUE]",
                   help="Only keys with this tag (and value); repeat: every one must match.")
    p.add_argument("--without-tag", action="append", metavar="KEY",
                   help="Only keys that lack this tag; repeat for more.")
    p.add_argument("--state", action="append", metavar="STATE",
                   help="Only keys in this state (Enable, Disable, PendingDelete, PendingImport, Creating); repeat "
                        "for more.")
    _stack(p)


def _keys_describe(p: argparse.ArgumentParser) -> None:
    p.add_argument("key", metavar="KEY", help="Key id, TRN or alias.")
    _region(p)
    _stack(p)


def _keys_schedule_deletion(p: argparse.ArgumentParser) -> None:
    from ..domain import rules

    p.add_argument("key", metavar="REGION:KEY", help="The key to delete: region, then id, TRN or alias.")
    p.add_argument("--days", type=int, default=rules.PENDING_DAYS_DEFAULT,
                   metavar="N",
                   help=f"The waiting period in days ({rules.PENDING_DAYS_MIN}..{rules.PENDING_DAYS_MAX}) before the "
                        "key is gone for good (default: %(default)s).")
    _stack(p)


def _keys_cancel_deletion(p: argparse.ArgumentParser) -> None:
    p.add_argument("key", metavar="REGION:KEY", help="The key pending deletion: region, then id or TRN.")
    p.add_argument("--keep-disabled", action="store_true", help="Leave it Disable, as the service does.")
    _stack(p)


def _clock_advance(p: argparse.ArgumentParser) -> None:
    p.add_argument("duration", metavar="DURATION", help="How far: 90, 45s, 30m, 12h, 31d, 2w or 7d12h.")
    _stack(p)


class Command:
    """One command. (A plain class: a NamedTuple's making would cost every start more than the rest here.)"""

    __slots__ = ("arguments", "description", "help", "name", "run")

    def __init__(self, name: str, help: str, arguments: Callable[[argparse.ArgumentParser], None], run: str,
                 more: str = "") -> None:
        self.name = name
        self.help = help  # one line, in the list of commands
        self.description = f"{help}\n\n{more}" if more else help  # its own --help; paragraphs by a blank line
        self.arguments = arguments  # adds its arguments to a parser
        self.run = run  # "module:function" of this package, called with the parsed arguments


class Group:
    """Commands under one name (`kmsctl keys list`)."""

    __slots__ = ("commands", "help", "name")

    def __init__(self, name: str, help: str, commands: tuple[Command, ...]) -> None:
        self.name = name
        self.help = help
        self.commands = commands


COMMANDS: tuple[Command | Group, ...] = (
    Command("encrypt", "Encrypt IN once so that any of the keys, each in its region, can decrypt it.",
            _encrypt, "envelope:encrypt_command"),
    Command("decrypt", "Decrypt IN with one key, in its region.", _decrypt, "envelope:decrypt_command",
            "With --context, each pair must be in the message's context. An output file is created readable by "
            "its owner only."),
    Command("review", "What a preview does to the keys: which stop working at `up`, when the loss is final, how "
                      "to undo it.", _review, "review:review_command",
            "Live keys (a key already pending deletion, replicas the stack does not manage) are read from the "
            "backend you configured, the environment or --stack's config, never from settings inside the preview."),
    Command("serve", "Serve the emulator over HTTP to both clouds' SDKs on one port, every request signed.",
            _serve, "serve:serve_command",
            "Volcengine KMS at /?Action=...&Version=2021-02-18; Huawei Cloud KMS at /v1.0/{project_id}/kms/... and "
            "/v2/{project_id}/kms/... (a project id is a region's name, or an id mapped by KMS_PROJECT_IDS).\n\n"
            "Credentials come from KMS_ACCESS_KEY and KMS_SECRET_KEY; KMS_RATE_LIMIT (requests a second per access "
            "key) turns on throttling; KMS_REPLICATION_DELAY sets how long a new replica stays Creating."),
    Group("keys", "List, describe, schedule and cancel the deletion of keys.", (
        Command("list", "The keys of a region, all or those matching every filter given.", _keys_list,
                "keys:list_keys",
                "To find keys no stack owns (e.g. left behind by an interrupted `pulumi up`), compare with the ids "
                "in `pulumi stack export`, narrowing the list with --name-prefix, --tag or --without-tag."),
        Command("describe", "One key, as the service describes it (JSON).", _keys_describe, "keys:describe"),
        Command("schedule-deletion", "Schedule a key's deletion: it refuses crypto at once, and is gone with what "
                                     "it encrypted after --days.", _keys_schedule_deletion, "keys:schedule_deletion",
                "Meant for keys no stack owns (see `kmsctl keys list --help`); a key a stack manages is deleted "
                "with `pulumi destroy` or by removing its resource. Undo within the window with "
                "`kmsctl keys cancel-deletion`."),
        Command("cancel-deletion", "Undo a scheduled deletion within its window: the key is back and (unless "
                                   "--keep-disabled) enabled.", _keys_cancel_deletion, "keys:cancel_deletion"),
    )),
    Group("clock", "The emulator's clock (scheduled deletions and rotations).", (
        Command("advance", "Move the emulator's clock so that scheduled deletions and rotations come due.",
                _clock_advance, "keys:advance"),
    )),
)


def _add(parent: Any, command: Command, words: Sequence[str], argv: Sequence[str]) -> None:
    p = parent.add_parser(command.name, help=command.help, description=command.description,
                          formatter_class=_Formatter)
    if all(word in argv for word in words):  # a command these arguments can select: the only ones filled
        command.arguments(p)
    p.set_defaults(run=command.run, parser=p)


def parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    """kmsctl's whole parser: every command by name (for help, and the error naming an unknown one), with
    the arguments of those that `argv` can select."""
    top = argparse.ArgumentParser(prog=PROG, description=DESCRIPTION, formatter_class=_Formatter)
    commands = top.add_subparsers(title="commands", metavar="COMMAND")
    for entry in COMMANDS:
        if isinstance(entry, Command):
            _add(commands, entry, (entry.name,), argv)
            continue
        group = commands.add_parser(entry.name, help=entry.help, description=entry.help, formatter_class=_Formatter)
        group.set_defaults(parser=group)
        members = group.add_subparsers(title="commands", metavar="COMMAND")
        for command in entry.commands:
            _add(members, command, (entry.name, command.name), argv)
    top.set_defaults(parser=top)
    return top


def _named(argv: Sequence[str]) -> tuple[Command, int] | None:
    """The command that the first words of `argv` name, and how many words name it."""
    for entry in COMMANDS:
        if argv[:1] != [entry.name]:
            continue
        if isinstance(entry, Command):
            return entry, 1
        return next(((command, 2) for command in entry.commands if argv[1:2] == [command.name]), None)
    return None


def _parse(argv: Sequence[str]) -> argparse.Namespace:
    """The arguments of the command `argv` names: read by that command's parser alone when the first words
    name it, which the whole parser would hand them to unchanged (it costs a dozen parsers' making, a
    quarter of `kmsctl encrypt`'s own start); else by the whole parser."""
    named = _named(argv)
    if named is None:
        return parser(argv).parse_args(argv)
    command, words = named
    p = argparse.ArgumentParser(prog=" ".join((PROG, *argv[:words])), description=command.description,
                                formatter_class=_Formatter)
    command.arguments(p)
    p.set_defaults(run=command.run, parser=p)
    return p.parse_args(argv[words:])


def _help(p: argparse.ArgumentParser) -> NoReturn:
    """No command named: the help, and status 2, as for any usage error."""
    p.print_help()
    sys.exit(2)


def run(argv: Sequence[str]) -> int:
    """Parse `argv` (without the program's name), run the command; answer the exit status. argparse exits
    by itself (SystemExit) for --help and usage errors."""
    args = _parse(argv)
    if not hasattr(args, "run"):
        _help(args.parser)
    module, _, function = args.run.partition(":")
    command = getattr(importlib.import_module(f"{__package__}.{module}"), function)
    try:
        command(args)
    except UsageError as err:
        args.parser.error(f"argument {err.flag}: {err.message}")
    except Failed as err:
        print(err, file=sys.stderr, flush=True)
        return err.status
    except KeyboardInterrupt:
        return 130
    return 0
