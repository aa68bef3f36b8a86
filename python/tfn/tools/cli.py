"""What the command-line tools share: usage errors, and a `main` that never shows a traceback."""
from __future__ import annotations

import argparse
import sys
from typing import Callable


class UsageError(Exception):
    """Bad command line: reported as `<prog>: error: ...`, exit status 1."""


class Failure(Exception):
    """An error already formatted for stderr, exit status 1."""


class Parser(argparse.ArgumentParser):
    """argparse that raises UsageError instead of exiting, so `guarded_main` reports it."""

    def error(self, message: str):
        raise UsageError(message)


def guarded_main(prog: str, run: Callable[[list[str]], int], argv: list[str] | None) -> int:
    """Runs `run(argv)`; every error becomes a message on stderr and exit status 1."""
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        return run(argv)
    except UsageError as e:
        print(f"{prog}: error: {e}\n(run '{prog} --help' for usage)", file=sys.stderr)
        return 1
    except Failure as e:
        print(str(e), file=sys.stderr)
        return 1
    except SystemExit as e:  # --help
        return e.code if isinstance(e.code, int) else 0
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 1
    except Exception as e:  # noqa: BLE001 - last resort: a message, never a traceback
        print(f"{prog}: error: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
