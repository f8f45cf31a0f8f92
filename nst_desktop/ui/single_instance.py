"""One window per user: a later ``nst-desktop [CONTENT [STYLE]]`` hands its files to the open window.

The desktop entry runs ``nst-desktop %F``, so "Open With" starts a new process for every file. The
first process listens on a local socket (:class:`QLocalServer`, named per user: a hash of the
user's config folder, readable by the user only); a later launch connects, sends the absolute
paths of its files as one line of JSON (``{"content": ..., "style": ...}``), waits for the first
window's "ok" and exits; the first window shows the files (``openRequested``).

Where that fails, nothing is lost: a socket left by a window that died (no one answers) is removed
and listened on again; where no socket can be used at all, the launch opens a window of its own,
and the queue file (:mod:`nst_desktop.services.queue_file`) and the recovery files
(:mod:`nst_desktop.services.recovery`) are safe with two windows.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtNetwork import QAbstractSocket, QLocalServer, QLocalSocket

from nst_desktop.services import paths

#: Milliseconds a launch waits to connect to the open window (a local socket answers at once).
CONNECT_TIMEOUT_MS = 1000
#: Milliseconds a launch waits for the open window to take its files (it may be starting or busy);
#: after that it opens a window of its own.
ACK_TIMEOUT_MS = 15000
#: Longest message taken (two paths and their JSON); a longer one is dropped.
MAX_MESSAGE_BYTES = 64 * 1024
ACK = b"ok\n"


def server_name() -> str:
    """The socket's name for the current user: one per config folder, so other users (and tests with
    their own ``XDG_CONFIG_HOME``) have their own. Where the user has a private runtime folder
    (``XDG_RUNTIME_DIR``, mode 0700 on Linux), the socket is made there, where no other user can put
    one in its place; elsewhere Qt makes it in the temporary folder (a named pipe on Windows)."""
    name = "nst-desktop-" + hashlib.sha256(str(paths.config_dir()).encode("utf-8")).hexdigest()[:16]
    runtime = os.environ.get("XDG_RUNTIME_DIR", "")
    if sys.platform != "win32" and os.path.isabs(runtime) and os.path.isdir(runtime):
        full = os.path.join(runtime, name)
        if len(full.encode("utf-8")) < 100:  # a Unix socket's path holds at most 107 bytes
            return full
    return name


def _absolute(path: str | None) -> str | None:
    return os.path.abspath(path) if path else None


def parse_message(data: bytes) -> tuple[str | None, str | None] | None:
    """(content, style) from a launch's line, or None if it is not a valid message."""
    try:
        message = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    if not isinstance(message, dict):
        return None
    content, style = message.get("content"), message.get("style")
    if not all(v is None or (isinstance(v, str) and v and len(v) <= 4096) for v in (content, style)):
        return None
    return content, style


class SingleInstance(QObject):
    """The local socket of the open window, or the way to it (see the module docstring).

    Signals:
        openRequested(object, object): a later launch's content and style paths (absolute; None
            where it named none).
    """

    openRequested = Signal(object, object)

    def __init__(self, name: str | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = server_name() if name is None else name
        self._server = QLocalServer(self)
        self._server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        self._server.newConnection.connect(self._on_new_connection)
        self._buffers: dict[QLocalSocket, bytearray] = {}
        self._unanswered = False  # the last hand-over connected, but the window did not take the files

    def is_listening(self) -> bool:
        return self._server.isListening()

    def start(self, content: str | None, style: str | None) -> bool:
        """True if an open window took ``content`` and ``style`` (this launch should exit); False if this
        is the first window (it then listens for later launches, where it can)."""
        for _ in range(2):  # a second round for a window that started at the same moment
            if self.hand_over(content, style):
                return True
            if self._unanswered:
                return False  # an open window that does not answer (busy or hung): a window of its own
            if self._server.listen(self.name):
                return False
            if self._server.serverError() != QAbstractSocket.SocketError.AddressInUseError:
                return False  # no local sockets here: a window of its own
            if not self._answers():  # left by a window that died: remove it and listen
                QLocalServer.removeServer(self.name)
                if self._server.listen(self.name):
                    return False
        return False

    def _answers(self) -> bool:
        probe = QLocalSocket()
        probe.connectToServer(self.name)
        alive = probe.waitForConnected(CONNECT_TIMEOUT_MS)
        probe.abort()
        return alive

    def hand_over(self, content: str | None, style: str | None) -> bool:
        """Send the files to the open window; True once it said it took them."""
        socket = QLocalSocket()
        socket.connectToServer(self.name)
        if not socket.waitForConnected(CONNECT_TIMEOUT_MS):
            return False
        line = json.dumps({"content": _absolute(content), "style": _absolute(style)}).encode("utf-8") + b"\n"
        socket.write(line)
        socket.flush()
        reply = bytearray()
        self._unanswered = True
        deadline = time.monotonic() + ACK_TIMEOUT_MS / 1000
        while ACK not in reply:
            left = int((deadline - time.monotonic()) * 1000)
            if left <= 0 or (not socket.waitForReadyRead(left) and socket.bytesAvailable() == 0):
                socket.abort()
                return False
            reply += socket.readAll().data()
        socket.disconnectFromServer()
        self._unanswered = False
        return True

    @Slot()
    def _on_new_connection(self) -> None:
        while (socket := self._server.nextPendingConnection()) is not None:
            self._buffers[socket] = bytearray()
            socket.readyRead.connect(lambda s=socket: self._read(s))
            socket.disconnected.connect(lambda s=socket: self._drop(s))
            if socket.bytesAvailable():
                self._read(socket)

    def _drop(self, socket: QLocalSocket) -> None:
        self._buffers.pop(socket, None)
        socket.deleteLater()

    def _read(self, socket: QLocalSocket) -> None:
        buffer = self._buffers.get(socket)
        if buffer is None:
            return
        buffer += socket.readAll().data()
        if b"\n" not in buffer:
            if len(buffer) > MAX_MESSAGE_BYTES:
                self._buffers.pop(socket, None)
                socket.abort()
            return
        self._buffers.pop(socket, None)
        request = parse_message(bytes(buffer.split(b"\n", 1)[0]))
        if request is None:
            socket.abort()
            return
        socket.write(ACK)
        socket.flush()
        self.openRequested.emit(*request)

    def close(self) -> None:
        """Stop listening (the window closes); the socket's name is free for the next window."""
        self._server.close()
