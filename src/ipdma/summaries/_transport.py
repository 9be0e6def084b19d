"""Transports of the federated logistic protocol: messages are a few named arrays.

A message is a ``dict[str, numpy array | number | str]``, serialised as an ``.npz`` archive
(no pickles), so what crosses the wire is exactly the arrays named in the protocol and the
bytes counted are the bytes sent. Two transports:

* :class:`InProcessTransport`: the site engines live in this process (tests, simulations);
  every message is still serialised and counted.
* :class:`FolderTransport`: a shared folder (real use): the coordinator writes
  ``<folder>/<site>/request-<n>.npz`` and waits for ``response-<n>.npz``, which the site's
  ``ipdma.summaries.serve_folder`` loop writes. Files are written atomically.
"""

from __future__ import annotations

import io
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ..errors import IpdmaError

__all__ = ["FolderTransport", "InProcessTransport", "Transport", "decode", "encode", "serve_folder"]

Message = dict[str, Any]


def encode(message: Message) -> bytes:
    buffer = io.BytesIO()
    arrays = {k: np.asarray(v) for k, v in message.items()}
    # numpy's stub checks **arrays as if a key could bind its `allow_pickle: bool`; passing
    # allow_pickle explicitly is no way out: numpy releases without it store it as an array
    np.savez(buffer, **arrays)  # type: ignore[arg-type]
    return buffer.getvalue()


def decode(data: bytes) -> Message:
    with np.load(io.BytesIO(data), allow_pickle=False) as archive:
        out = {k: archive[k] for k in archive.files}
    return {k: (v.item() if v.ndim == 0 else v) for k, v in out.items()}


class Handler(Protocol):
    def handle(self, message: Message) -> Message: ...


class Transport(Protocol):
    """Sends one message to one site and returns its answer; counts rounds and bytes."""

    sites: tuple[str, ...]
    bytes_sent: int
    bytes_received: int
    messages: int

    def exchange(self, site: str, message: Message) -> Message: ...


@dataclass
class InProcessTransport:
    """Site engines in this process; messages still go through :func:`encode`."""

    engines: dict[str, Handler]
    bytes_sent: int = 0
    bytes_received: int = 0
    messages: int = 0

    @property
    def sites(self) -> tuple[str, ...]:
        return tuple(self.engines)

    def exchange(self, site: str, message: Message) -> Message:
        request = encode(message)
        self.bytes_sent += len(request)
        response = encode(self.engines[site].handle(decode(request)))
        self.bytes_received += len(response)
        self.messages += 1
        return decode(response)


def _write_atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)


@dataclass
class FolderTransport:
    """A shared folder: one subfolder per site, numbered request/response files."""

    folder: Path
    sites: tuple[str, ...]
    timeout: float = 600.0
    poll: float = 0.01
    bytes_sent: int = 0
    bytes_received: int = 0
    messages: int = 0
    _counter: dict[str, int] = field(default_factory=dict)

    def exchange(self, site: str, message: Message) -> Message:
        n = self._counter.get(site, 0) + 1
        self._counter[site] = n
        box = Path(self.folder) / site
        box.mkdir(parents=True, exist_ok=True)
        request = encode(message)
        _write_atomic(box / f"request-{n:06d}.npz", request)
        self.bytes_sent += len(request)
        answer = box / f"response-{n:06d}.npz"
        deadline = time.monotonic() + self.timeout
        while not answer.exists():
            if time.monotonic() > deadline:
                raise IpdmaError(
                    f"site {site} did not answer request {n} within {self.timeout:g} s",
                    file=answer,
                    hint="check that the site runs ipdma.summaries.serve_folder on this folder",
                )
            time.sleep(self.poll)
        data = answer.read_bytes()
        self.bytes_received += len(data)
        self.messages += 1
        return decode(data)


def serve_folder(folder: str | Path, site: str, engine: Handler, *, poll: float = 0.01) -> int:
    """Site side of :class:`FolderTransport`: answer requests until a ``stop`` message;
    returns the number answered."""
    box = Path(folder) / site
    box.mkdir(parents=True, exist_ok=True)
    n = 0
    while True:
        request = box / f"request-{n + 1:06d}.npz"
        if not request.exists():
            time.sleep(poll)
            continue
        n += 1
        message = decode(request.read_bytes())
        if message.get("kind") == "stop":
            _write_atomic(box / f"response-{n:06d}.npz", encode({"kind": "stopped"}))
            return n
        _write_atomic(box / f"response-{n:06d}.npz", encode(engine.handle(message)))
