"""Connections wait for their whole request head in one thread, not in the server's pool.

A client that connects and sends nothing, or half a request line, then stays silent (a "slow
loris") would hold a pool thread until its read timed out; 600 of them would hold 16 threads for
600 / 16 read timeouts while every other client waited. Here the accepted sockets sit in one
selector, non-blocking, until their head (up to the blank line) has arrived; only then does a
pool thread take the connection, its head replayed before the rest of the stream. A connection
whose head is not complete within `timeout` seconds of its accept, or larger than `MAX_HEAD`,
is closed without costing a thread.
"""
from __future__ import annotations

import io
import os
import selectors
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

MAX_HEAD = 64 * 1024  # request line and headers; more is not a request to this service
_END = b"\r\n\r\n"


class Replay(io.RawIOBase):
    """The bytes read while waiting, then the connection's own stream."""

    def __init__(self, head: bytes, rest: Any) -> None:
        self.head = memoryview(head)
        self.rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.head:
            n = min(len(buffer), len(self.head))
            buffer[:n] = self.head[:n]
            self.head = self.head[n:]
            return n
        return self.rest.readinto(buffer)


class HeadWaiter:
    """Calls `ready(sock, address, head)` once a connection's request head is in."""

    def __init__(self, timeout: float, ready: Callable[[socket.socket, Any, bytes], None]) -> None:
        self.timeout = timeout
        self.ready = ready
        self.selector = selectors.DefaultSelector()
        self.incoming: list[tuple[socket.socket, Any]] = []
        self.lock = threading.Lock()
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        self.selector.register(self.wake_r, selectors.EVENT_READ)
        self.waiting: dict[socket.socket, tuple[Any, float, bytearray]] = {}
        self.stopped = False
        self.thread = threading.Thread(target=self._run, name="socpass-http-heads", daemon=True)
        self.thread.start()

    def add(self, sock: socket.socket, address: Any) -> None:
        """From the accepting thread: the selector is only ever touched by the waiting thread."""
        with self.lock:
            self.incoming.append((sock, address))
        os.write(self.wake_w, b"x")

    def stop(self) -> None:
        if self.stopped:  # Werkzeug's serve_forever closes the server, and so may its owner
            return
        self.stopped = True
        os.write(self.wake_w, b"x")
        self.thread.join(5)
        with self.lock:  # connections accepted but not yet taken by the waiting thread too
            incoming, self.incoming = self.incoming, []
        for sock in [*self.waiting, *(sock for sock, _ in incoming)]:
            sock.close()
        self.selector.close()
        os.close(self.wake_r)
        os.close(self.wake_w)

    def _run(self) -> None:
        while not self.stopped:
            now = time.monotonic()
            deadline = min((d for _, d, _ in self.waiting.values()), default=now + 1.0)
            for key, _ in self.selector.select(max(0.0, deadline - now)):
                if key.fileobj == self.wake_r:
                    self._take_incoming()
                else:
                    self._read(key.fileobj)  # type: ignore[arg-type]
            now = time.monotonic()
            for sock in [s for s, (_, d, _) in self.waiting.items() if d <= now]:
                self._drop(sock)

    def _take_incoming(self) -> None:
        try:
            while os.read(self.wake_r, 4096):
                pass
        except BlockingIOError:
            pass
        with self.lock:
            incoming, self.incoming = self.incoming, []
        deadline = time.monotonic() + self.timeout
        for sock, address in incoming:
            sock.setblocking(False)
            self.waiting[sock] = (address, deadline, bytearray())
            self.selector.register(sock, selectors.EVENT_READ)

    def _read(self, sock: socket.socket) -> None:
        address, _, head = self.waiting[sock]
        try:
            chunk = sock.recv(MAX_HEAD)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            chunk = b""
        if not chunk or len(head) + len(chunk) > MAX_HEAD:
            self._drop(sock)
            return
        head += chunk
        if _END in head or b"\n\n" in head:  # a blank line ends the head (bare LF too)
            self.selector.unregister(sock)
            del self.waiting[sock]
            sock.setblocking(True)
            self.ready(sock, address, bytes(head))

    def _drop(self, sock: socket.socket) -> None:
        self.selector.unregister(sock)
        del self.waiting[sock]
        try:
            sock.close()
        except OSError:
            pass
