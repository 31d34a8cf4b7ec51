"""The join address of a class on several web servers (`make classroom SERVERS=3`): a process of its
own, supervised by the launcher, that sends each new browser to the next web server in turn (a
redirect: the page and its websocket then stay there, and the browser's key cookie holds for every
port of this machine). It holds nothing of the class, so a flood of connections here touches no
board, queue or web server.

Starlette on uvicorn (both come with Streamlit): one event loop, not a thread per connection. Each
answer closes its connection, and a connection that has not sent a whole request within
REQUEST_SECONDS is closed (uvicorn times out only idle keep-alive connections, not one that never
sends a request), so idle and slow connections cost a file descriptor for a few seconds and no
thread. `python -m vae.classroom.join --address A --port P --to 8502,8503`."""

from __future__ import annotations

import argparse
import asyncio
import itertools
import re
import resource
import sys

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route
from uvicorn.protocols.http.h11_impl import H11Protocol

REQUEST_SECONDS = 5.0  # a connection's whole request must arrive within this, or it is closed
HOST_PATTERN = re.compile(r"[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\]")


def request_host(header: str) -> str | None:
    """The host a browser asked for (without its port), if it is a plain name or address."""
    header = header.strip()
    host = header[: header.find("]") + 1] if header.startswith("[") else header.split(":", 1)[0]
    return host if HOST_PATTERN.fullmatch(host) else None


def join_app(ports: list[int]) -> Starlette:
    """Every GET or HEAD, whatever its path, is sent on to the next web server: same host and path."""
    next_port = itertools.cycle(ports).__next__  # one event loop: no lock needed

    async def send_on(request: Request) -> Response:
        host = request_host(request.headers.get("host", ""))
        if host is None:
            return PlainTextResponse("Open the address the teacher shows.", status_code=400,
                                     headers={"Connection": "close"})
        path = request.url.path if request.url.path.startswith("/") and not request.url.path.startswith("//") else "/"
        query = f"?{request.url.query}" if request.url.query else ""
        return RedirectResponse(f"http://{host}:{next_port()}{path}{query}", status_code=302,
                                headers={"Cache-Control": "no-store", "Connection": "close"})

    return Starlette(routes=[Route("/{path:path}", send_on, methods=["GET", "HEAD"])])


class DeadlineProtocol(H11Protocol):
    """uvicorn's h11 protocol, with a deadline for the request itself: a connection that is idle,
    or sends its headers a byte at a time, is closed once it has had REQUEST_SECONDS."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._deadline = self.loop.call_later(REQUEST_SECONDS, self._close_if_no_request)

    def _close_if_no_request(self) -> None:
        if self.cycle is None and not self.transport.is_closing():
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._deadline.cancel()
        super().connection_lost(exc)


def raise_open_files_limit() -> None:
    """As many open files as this machine lets a process have (Linux often starts a process at 1024)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else 65536
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def serve(address: str, port: int, ports: list[int]) -> None:
    raise_open_files_limit()
    config = uvicorn.Config(join_app(ports), host=address, port=port, http=DeadlineProtocol, ws="none",
                            lifespan="off", log_level="warning", access_log=False, timeout_keep_alive=1,
                            backlog=2048, timeout_graceful_shutdown=1)
    uvicorn.Server(config).run()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vae.classroom.join", description=__doc__.split("\n\n")[0])
    parser.add_argument("--address", default="0.0.0.0")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--to", required=True, help="the web servers' ports, comma-separated")
    args = parser.parse_args(argv)
    try:
        ports = [int(port) for port in args.to.split(",")]
    except ValueError:
        print("error: --to takes ports separated by commas", file=sys.stderr)
        return 2
    serve(args.address, args.port, ports)
    return 0


if __name__ == "__main__":
    sys.exit(main())
