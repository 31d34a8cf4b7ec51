"""Joining: the address students open (this machine's address on the local network, found without
any internet lookup), and `make classroom`, which prints it with the teacher code and then starts
the class (vae.classroom.host): its web servers listen on every interface, with roles on."""

from __future__ import annotations

import argparse
import socket
import sys

from vae import settings as vae_settings
from vae.classroom.codes import fixed_teacher_code, new_teacher_code
from vae.classroom.people import ClassroomError
from vae.settings import settings

CLASSROOM_ENV = vae_settings.CLASSROOM  # "1": roles on (make classroom sets it; tests use it on 127.0.0.1)
JOIN_ADDRESS_ENV = vae_settings.JOIN_ADDRESS  # the address shown on the join screen, if the guess is wrong
JOIN_PORT_ENV = vae_settings.JOIN_PORT  # the join port, when it is not the web server's own (several servers)
MAX_SERVERS = 8


def lan_address() -> str:
    """This machine's address on the local network, without any internet lookup: the kernel is
    asked which interface would route to a private address (a UDP "connect" sends no packet)."""
    for probe in ("10.255.255.255", "192.168.255.255", "172.31.255.255"):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            try:
                sock.connect((probe, 9))
                address = sock.getsockname()[0]
            except OSError:
                continue
            if not address.startswith(("0.", "127.")):
                return address
    try:
        address = socket.gethostbyname(socket.gethostname())
    except OSError:
        address = "127.0.0.1"
    return address


def join_url(host: str, port: int) -> str:
    return f"http://{host}:{port}" if port != 80 else f"http://{host}"


def join_address(port: int) -> str:
    """What students open: LATENT_LAB_JOIN_ADDRESS's host if set, else this machine's LAN address;
    at the class's join port if the web server is one of several (LATENT_LAB_JOIN_PORT)."""
    current = settings()
    return join_url(current.join_address or lan_address(), current.join_port or port)


# --- `make classroom` -------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Print the teacher code and the address students join at, then start the class and keep it
    running (vae.classroom.host): one web server on the port (listening on every interface, roles
    on), or with --servers N, N web servers that share the class behind a join address.
    `python -m vae.classroom [--port 8501] [--servers 1]`."""
    parser = argparse.ArgumentParser(prog="make classroom", description=main.__doc__)
    parser.add_argument("--port", type=int, default=8501, help="the join port (several servers: the next ports too)")
    parser.add_argument("--servers", type=int, default=1,
                        help=f"web server processes sharing the class, 1 to {MAX_SERVERS} (3 held 100 students "
                             "on a 2-core laptop: docs/figures.md)")
    parser.add_argument("--address", default="0.0.0.0", help="where to listen (0.0.0.0: the local network)")
    args = parser.parse_args(argv)
    if not 1 <= args.servers <= MAX_SERVERS:
        print(f"error: --servers must be from 1 to {MAX_SERVERS}", file=sys.stderr)
        return 2
    if not 1024 <= args.port <= 65535 - args.servers:
        print("error: --port must leave room for the web servers' ports after it (1024 to 65535)", file=sys.stderr)
        return 2
    try:
        code = fixed_teacher_code() or new_teacher_code()
    except ClassroomError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    servers = f" (on {args.servers} web servers, ports {args.port + 1}-{args.port + args.servers})" \
        if args.servers > 1 else ""
    print(f"\n  Latent Lab, classroom mode{servers}\n  Students join at:  {join_address(args.port)}\n"
          f"  Teacher code:      {code}   (type it in the sidebar under Teacher; keep it to yourself)\n",
          flush=True)
    from vae import runs
    from vae.classroom.host import run_class  # the launcher: it supervises the class's processes

    return run_class(str(vae_settings.ROOT), args.address, args.port, args.servers, code, runs.default_runs_dir())
