"""The training queue of a class on several web server processes of one machine (`make classroom
SERVERS=3`), reached from each web server. The queue's own process (vae.classroom.dispatch) keeps
the queue and its training processes and serves it on a local socket; each web server uses it
through a proxy, so there is one line and one pool of training processes, and what a page calls
runs in the queue's process under its lock and the classroom rules. (The board, names and settings
do not come this way: every process reads them from the class's store, vae.database. The queue is
next: docs/architecture.md.)

The socket listens on 127.0.0.1 only; a connection must prove it knows the class's secret (the
HMAC challenge of multiprocessing.connection, with the launcher's random key, passed to the class's
processes in their environment), and may call only the shared objects' public methods and read their
public attributes. Connections are kept open and reused: Streamlit runs every rerun in a new thread,
and a handshake per rerun would queue up at the accepting thread under a class's load. A call that
gets no answer within CALL_SECONDS is a sentence, and a kept connection the other end has closed
(the queue's process was started again) is dropped before it is used."""

from __future__ import annotations

import os
import pickle
import threading
import time
from multiprocessing import AuthenticationError
from multiprocessing.connection import Client, Connection, Listener

from vae.errors import LabError

ADDRESS_ENV = "LATENT_LAB_SHARED_ADDRESS"  # "127.0.0.1:port": where the class's shared state is served
KEY_ENV = "LATENT_LAB_SHARED_KEY"  # the secret a process proves it knows (hex)
CONNECT_SECONDS = 60.0  # a web server started with the training queue's process waits this long for it
CALL_SECONDS = 30.0  # the longest a call may take (a training's submit reads every run's metrics)
IDLE_CONNECTIONS = 8  # kept open per web server for the next call (Streamlit runs each rerun in a new thread)
READ = "__getattribute__"


class SharingError(LabError):
    """The class's shared state cannot be reached or served."""


def public_methods(cls: type) -> frozenset[str]:
    """The callables a page may call (properties and attributes are read with READ)."""
    return frozenset(name for name in dir(cls) if not name.startswith("_")
                     and callable(getattr(cls, name, None)) and not isinstance(getattr(cls, name), property))


# --- the training queue's process ---------------------------------------------------------------------


def serve(objects: dict[str, object], key: bytes, port: int = 0) -> tuple[str, int]:
    """Serve `objects` (by name: the board, the classroom's state, the training queue) on 127.0.0.1
    (`port`, or a free one) from daemon threads of this process, one per connection, each call run
    as if made here; returns the address."""
    listener = Listener(("127.0.0.1", port), authkey=key, backlog=128)
    methods = {name: public_methods(type(served)) for name, served in objects.items()}

    def accept() -> None:
        while True:
            try:
                connection = listener.accept()  # the secret is checked here
            except (OSError, EOFError, AuthenticationError):
                continue
            threading.Thread(target=_answer, args=(connection, objects, methods), daemon=True,
                             name="class-sharing-call").start()

    threading.Thread(target=accept, daemon=True, name="class-sharing").start()
    return listener.address


def _answer(connection: Connection, objects: dict[str, object], methods: dict[str, frozenset[str]]) -> None:
    with connection:
        while True:
            try:
                name, member, args, kwargs = connection.recv()
            except (EOFError, OSError):
                return
            try:
                answer = ("ok", _call(objects, methods, name, member, args, kwargs))
            except Exception as error:  # noqa: BLE001 - every failure goes back to the caller, as raised here
                answer = ("error", error)
            try:
                data = pickle.dumps(answer)
            except Exception as error:  # noqa: BLE001 - what cannot be pickled: its sentence instead
                data = pickle.dumps(("error", SharingError(f"{type(error).__name__}: {error}")))
            try:
                connection.send_bytes(data)
            except (OSError, EOFError):  # the web server went away mid-call
                return


def _call(objects, methods, name: str, member: str, args, kwargs):
    if name not in objects:
        raise SharingError(f"nothing shared is called {name!r}")
    if member == READ and len(args) == 1 and isinstance(args[0], str) and not args[0].startswith("_") \
            and args[0] not in methods[name]:
        return getattr(objects[name], args[0])
    if member in methods[name]:
        return getattr(objects[name], member)(*args, **kwargs)
    raise SharingError(f"{name}.{member} is not shared")


# --- a web server's side --------------------------------------------------------------------------


class Connections:
    """Open connections to the class's process, each used by one thread at a time."""

    def __init__(self, address: tuple[str, int], key: bytes):
        self.address, self._key = address, key
        self._idle: list[Connection] = []
        self._lock = threading.Lock()

    def open(self, timeout: float = CONNECT_SECONDS) -> Connection:
        deadline = time.monotonic() + timeout
        while True:
            try:
                return Client(self.address, authkey=self._key)
            except AuthenticationError:
                raise SharingError("the training queue's process refused this one: its secret does not match") from None
            except ConnectionRefusedError:
                if time.monotonic() > deadline:
                    raise SharingError(f"the training queue's process does not answer on "
                                       f"{self.address[0]}:{self.address[1]}") from None
                time.sleep(0.2)

    def _idle_connection(self) -> Connection | None:
        """A kept connection that is still open: one with something to read has been closed by the
        other end (the queue's process was started again), and is dropped."""
        with self._lock:
            while self._idle:
                connection = self._idle.pop()
                try:
                    if not connection.poll(0):
                        return connection
                except (OSError, EOFError):
                    pass
                connection.close()
        return None

    def call(self, name: str, member: str, args: tuple, kwargs: dict):
        connection = self._idle_connection() or self.open()
        try:
            connection.send((name, member, args, kwargs))
            if not connection.poll(CALL_SECONDS):  # a hung class's process does not hang this web server
                connection.close()
                raise SharingError(f"the training queue's process did not answer within {CALL_SECONDS:.0f} s")
            kind, result = connection.recv()
        except (EOFError, OSError) as error:
            connection.close()
            raise SharingError(f"the training queue's process stopped answering ({error})") from None
        with self._lock:
            if len(self._idle) < IDLE_CONNECTIONS:
                self._idle.append(connection)
                connection = None
        if connection is not None:
            connection.close()
        if kind == "error":
            raise result
        return result


class SharedProxy:
    """A shared object as a page uses it: its methods are called in the class's process, and its
    attributes and properties read from there (each a round trip: read once per use)."""

    def __init__(self, connections: Connections, name: str, cls: type):
        self._connections, self._name, self._methods = connections, name, public_methods(cls)

    def __getattr__(self, member: str):
        if member.startswith("_"):
            raise AttributeError(member)
        if member in self._methods:
            return lambda *args, **kwargs: self._connections.call(self._name, member, args, kwargs)
        return self._connections.call(self._name, READ, (member,), {})


def connect(address: tuple[str, int], key: bytes, types: dict[str, type],
            timeout: float = CONNECT_SECONDS) -> dict[str, SharedProxy]:
    """Proxies for the shared objects (`types`: name -> its class), once the training queue's process
    answers (waiting for it, bounded)."""
    connections = Connections(address, key)
    connections.open(timeout).close()
    return {name: SharedProxy(connections, name, cls) for name, cls in types.items()}


def shared() -> bool:
    """True in a web server process of a class on several (the class's process keeps the state)."""
    return bool(os.environ.get(ADDRESS_ENV))


def proxy(name: str, cls: type) -> SharedProxy:
    """The class's shared `name` (a `cls`), from the queue's process."""
    address, key = address_and_key()
    return connect(address, key, {name: cls})[name]


def parse_address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if host != "127.0.0.1" or not port.isdigit():
        raise SharingError(f"{ADDRESS_ENV} must be 127.0.0.1:<port> (the training queue's process on this machine), "
                           f"not {text!r}")
    return host, int(port)


def address_and_key() -> tuple[tuple[str, int], bytes]:
    address, key = os.environ.get(ADDRESS_ENV, ""), os.environ.get(KEY_ENV, "")
    try:
        secret = bytes.fromhex(key)
    except ValueError:
        secret = b""
    if len(secret) < 16:
        raise SharingError(f"{KEY_ENV} must be at least 16 bytes, in hex")
    return parse_address(address), secret
