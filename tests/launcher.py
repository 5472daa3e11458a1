"""Run the `bizenv` command in a child process with one function patched, so that a test can stop
it at an exact point of its work, without timing:

    python -m tests.launcher [--kill TARGET N] [--pause TARGET DIR] [--half-write TARGET] -- ARGS...

TARGET is `module:attribute`, the attribute looked up where the caller looks it up (a dotted
attribute path reaches into an imported module, e.g. `bizenv.evaluation.publish:os.replace`, and
patches a copy of that module held by the caller's module only, so nothing else sees the patch).

--kill TARGET N      SIGKILL the process at the Nth call of TARGET, before it runs
--half-write TARGET  at its first call, let TARGET write the file it is given (its first
                     argument), cut that file to half its size, then SIGKILL the process: a kill
                     while the file is being written
--pause TARGET DIR   at the first call of TARGET, create DIR/<pid>, wait until DIR/go exists, then
                     carry on: lets a test hold processes at the same point and release them together

Without a patch that fires, the command runs to its end and the process exits with its code.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
import time
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def patch(target: str, wrap: Callable[[Callable[..., Any]], Callable[..., Any]]) -> None:
    """Replace TARGET by `wrap(original)` where its caller looks it up."""
    module_name, _, path = target.partition(":")
    owner: Any = importlib.import_module(module_name)
    *parents, name = path.split(".")
    for parent in parents:
        child = getattr(owner, parent)
        if isinstance(child, types.ModuleType):
            copy = types.ModuleType(child.__name__)
            copy.__dict__.update(child.__dict__)
            setattr(owner, parent, copy)
            child = copy
        owner = child
    setattr(owner, name, wrap(getattr(owner, name)))


def kill_at_call(nth: int) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def wrap(original: Callable[..., Any]) -> Callable[..., Any]:
        calls = 0

        def killing(*args: Any, **kwargs: Any) -> Any:
            nonlocal calls
            calls += 1
            if calls == nth:
                die()
            return original(*args, **kwargs)

        return killing

    return wrap


def kill_half_written(original: Callable[..., Any]) -> Callable[..., Any]:
    def half_writing(path: Path, *args: Any, **kwargs: Any) -> Any:
        original(path, *args, **kwargs)
        size = Path(path).stat().st_size
        with open(path, "r+b") as handle:
            handle.truncate(size // 2)
        die()

    return half_writing


def pause_until_go(folder: Path) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def wrap(original: Callable[..., Any]) -> Callable[..., Any]:
        paused = False

        def pausing(*args: Any, **kwargs: Any) -> Any:
            nonlocal paused
            if not paused:
                paused = True
                (folder / str(os.getpid())).touch()
                while not (folder / "go").exists():
                    time.sleep(0.02)
            return original(*args, **kwargs)

        return pausing

    return wrap


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.launcher")
    parser.add_argument("--kill", nargs=2, metavar=("TARGET", "N"))
    parser.add_argument("--half-write", metavar="TARGET")
    parser.add_argument("--pause", nargs=2, metavar=("TARGET", "DIR"))
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    if args.kill:
        patch(args.kill[0], kill_at_call(int(args.kill[1])))
    if args.half_write:
        patch(args.half_write, kill_half_written)
    if args.pause:
        patch(args.pause[0], pause_until_go(Path(args.pause[1])))
    command = args.command[1:] if args.command[:1] == ["--"] else args.command

    from bizenv.cli import main as bizenv

    return bizenv(command)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
