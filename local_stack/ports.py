"""The ports `make run` listens on, the variables that choose them, and the check that they are free."""

from __future__ import annotations

import contextlib
import itertools
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from local_stack.errors import StackError

HOST = "127.0.0.1"


@dataclass(frozen=True)
class Port:
    component: str
    variable: str
    number: int


def port_from(environ: Mapping[str, str], component: str, variable: str, default: int) -> Port:
    raw = environ.get(variable) or str(default)
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise StackError(f"{variable}={raw!r} is not a port number (1-65535).")
    return Port(component, variable, int(raw))


def is_free(number: int) -> bool:
    """Whether our components could listen on it now: they bind HOST with SO_REUSEADDR, as this does."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        with contextlib.suppress(OSError):
            probe.bind((HOST, number))
            return True
    return False


def refuse_taken(ports: Sequence[Port]) -> None:
    """Stop before anything starts if a port is shared between components or held by another process."""
    problems = []
    by_number: dict[int, Port] = {}
    for port in ports:
        if port.number in by_number:
            other = by_number[port.number].variable
            problems.append(f"{port.variable} and {other} are both {port.number}; give each its own port.")
        by_number[port.number] = port
    for port in by_number.values():
        if not is_free(port.number):
            problems.append(
                f"Port {port.number} ({port.component}) is already in use by another process. "
                f"Stop that process or choose another port, e.g. "
                f"{port.variable}={free_port_after(port.number, set(by_number))} make run"
            )
    if problems:
        raise StackError("\n".join(problems))


def free_port_after(number: int, reserved: set[int]) -> int:
    """The next port above `number` that is free now and not meant for another component."""
    for candidate in itertools.chain(range(number + 1, 65536), range(1024, number)):
        if candidate not in reserved and is_free(candidate):
            return candidate
    return number  # not one free port on the machine: the message still says what to change
