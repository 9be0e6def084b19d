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

import contextlib
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


def _clear(box: Path) -> None:
    """Remove the request/response files of an earlier session (a crashed run)."""
    for path in box.glob("re*-*.npz"):
        path.unlink(missing_ok=True)


@dataclass
class FolderTransport:
    """A shared folder: one subfolder per site, numbered request/response files.

    The first message to a site clears its subfolder of an earlier session's files; a site
    that does not answer within ``timeout`` seconds stops the fit with an error naming it;
    a site that refuses a request (e.g. it holds another analysis plan) answers with its
    reason, which is raised here.
    """

    folder: Path
    sites: tuple[str, ...]
    timeout: float = 600.0
    poll: float = 0.01
    bytes_sent: int = 0
    bytes_received: int = 0
    messages: int = 0
    _counter: dict[str, int] = field(default_factory=dict)

    def exchange(self, site: str, message: Message) -> Message:
        box = Path(self.folder) / site
        if site not in self._counter:
            box.mkdir(parents=True, exist_ok=True)
            _clear(box)
        n = self._counter.get(site, 0) + 1
        self._counter[site] = n
        request = encode(message)
        _write_atomic(box / f"request-{n:06d}.npz", request)
        self.bytes_sent += len(request)
        answer = box / f"response-{n:06d}.npz"
        deadline = time.monotonic() + self.timeout
        while not answer.exists():
            if time.monotonic() > deadline:
                raise IpdmaError(
                    f"site {site} did not answer request {n} ({message.get('kind')}) within "
                    f"{self.timeout:g} s",
                    file=answer,
                    hint=f"start `ipdma federate site ... --folder {self.folder} --site {site}` "
                    "at that site (it must see this folder), or raise --timeout",
                )
            time.sleep(self.poll)
        data = answer.read_bytes()
        self.bytes_received += len(data)
        self.messages += 1
        reply = decode(data)
        if reply.get("kind") == "error":
            raise IpdmaError(
                f"site {site} refused request {n}: {reply.get('message')}",
                hint=str(reply.get("hint") or "both sides must use the same plan and summaries"),
            )
        return reply

    def close(self) -> None:
        """Tell every site to stop serving (best effort, waiting at most 10 s for each),
        then clear the boxes."""
        timeout, self.timeout = self.timeout, min(self.timeout, 10.0)
        try:
            for site in self.sites:
                with contextlib.suppress(IpdmaError):
                    self.exchange(site, {"kind": "stop"})
        finally:
            self.timeout = timeout
        for site in self._counter:
            _clear(Path(self.folder) / site)


def serve_folder(
    folder: str | Path,
    site: str,
    engine: Handler,
    *,
    poll: float = 0.01,
    timeout: float | None = None,
) -> int:
    """Site side of :class:`FolderTransport`: answer each request without a response, in
    order, until a ``stop`` message; returns the number answered.

    A request the engine refuses (an :class:`~ipdma.errors.IpdmaError`) is answered with
    the reason. ``timeout``: give up after that many seconds without a request (raises).
    """
    box = Path(folder) / site
    box.mkdir(parents=True, exist_ok=True)
    answered = 0
    last = time.monotonic()
    while True:
        pending = sorted(
            p
            for p in box.glob("request-*.npz")
            if not (box / p.name.replace("request-", "response-")).exists()
        )
        if not pending:
            if timeout is not None and time.monotonic() - last > timeout:
                raise IpdmaError(
                    f"no request from the coordinator within {timeout:g} s",
                    file=box,
                    hint="start `ipdma federate coordinate` with the same --folder, or raise "
                    "--timeout",
                )
            time.sleep(poll)
            continue
        request = pending[0]
        response = box / request.name.replace("request-", "response-")
        message = decode(request.read_bytes())
        last = time.monotonic()
        answered += 1
        if message.get("kind") == "stop":
            _write_atomic(response, encode({"kind": "stopped"}))
            return answered
        try:
            reply = engine.handle(message)
        except IpdmaError as exc:
            reply = {"kind": "error", "message": exc.message, "hint": exc.hint or ""}
        _write_atomic(response, encode(reply))
