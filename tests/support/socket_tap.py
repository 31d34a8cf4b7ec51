"""A real browser page's Streamlit websocket, passed through unchanged (Playwright's
route_web_socket) so that a test can read what the server sent the page and send the server what
the page itself could have sent: a request the browser makes only in a race, made on purpose."""

from __future__ import annotations

import re

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from tests.support.waiting import wait_until

STREAM = re.compile(r".*/_stcore/stream$")


class SocketTap:
    def __init__(self, page):
        """Tap `page`'s websocket; call before the page opens the app."""
        self.page = page
        self.received: list[ForwardMsg] = []
        self._server = None
        page.route_web_socket(STREAM, self._route)

    def _route(self, socket) -> None:
        server = socket.connect_to_server()
        socket.on_message(lambda message: server.send(message))  # the page's own messages, as they were

        def to_page(message) -> None:
            forward = ForwardMsg()
            forward.ParseFromString(message)
            self.received.append(forward)
            socket.send(message)

        server.on_message(to_page)
        self._server = server

    def pages(self) -> dict[str, str]:
        """Each page's address (its url_pathname) and script hash, as the server listed them."""
        lists = [getattr(forward, kind).app_pages for forward in self.received
                 if (kind := forward.WhichOneof("type")) in ("new_session", "navigation")]  # st.navigation: the latter
        return {page.url_pathname: page.page_script_hash for pages in lists for page in pages}

    def timed_fragments(self) -> list[str]:
        """The fragments the page shown now reruns on a timer (since its last whole run)."""
        whole_runs = [index for index, forward in enumerate(self.received)
                      if forward.WhichOneof("type") == "new_session" and not forward.metadata.run.fragment_ids]
        since = whole_runs[-1] if whole_runs else 0
        return [forward.auto_rerun.fragment_id for forward in self.received[since:]
                if forward.WhichOneof("type") == "auto_rerun"]

    def send_to_server(self, message: BackMsg) -> None:
        assert self._server is not None, "the page has not opened its websocket"
        self._server.send(message.SerializeToString())

    def barrier(self, seconds: float = 30) -> None:
        """Returns once the server has read everything sent to it before: it answers a heartbeat
        after the messages before it, in order."""
        acks = self._acks()
        heartbeat = BackMsg()
        heartbeat.app_heartbeat = True
        self.send_to_server(heartbeat)
        self.wait_for(lambda: self._acks() > acks, seconds, "the server's answer to a heartbeat")

    def _acks(self) -> int:
        return sum(forward.WhichOneof("type") == "heartbeat_ack" for forward in self.received)

    def finished_runs(self) -> int:
        """How many runs (whole or of fragments) the server has said it finished, so far."""
        return sum(forward.WhichOneof("type") == "script_finished" for forward in self.received)

    def wait_for(self, condition, seconds: float, what: str) -> None:
        """Until `condition()` holds (at most `seconds`), letting the page's messages in meanwhile:
        Playwright hands them to the tap only while one of its calls is waiting."""
        wait_until(condition, seconds, 0.05, what, pause=lambda interval: self.page.wait_for_timeout(interval * 1000))
