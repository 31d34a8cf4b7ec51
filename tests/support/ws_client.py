"""A minimal Streamlit client over the app's own websocket protocol (protobuf BackMsg/ForwardMsg),
light enough to run 20 at once on 2 cores beside the server: it does what a browser tab does for
our pages (open a page, move a slider, press a button, fetch the new image) and nothing else."""

from __future__ import annotations

import json
import time
import urllib.request
from dataclasses import dataclass, field

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from websockets.sync.client import connect


@dataclass
class RunOutcome:
    seconds: float
    images: list[str] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    progress: list[str] = field(default_factory=list)  # texts of progress bars
    widgets: dict[str, tuple[str, str]] = field(default_factory=dict)  # label -> (id, fragment id)
    components: list[dict] = field(default_factory=list)  # the JSON data sent to browser components
    texts: list[str] = field(default_factory=list)  # markdown, captions and alert messages
    toggles: dict[str, bool] = field(default_factory=dict)  # label -> the value the server drew it with
    component_ids: dict[str, tuple[str, str]] = field(default_factory=dict)  # component name -> (id, fragment id)
    whole_page: bool = False  # the page ran whole (a fragment that asked st.rerun(scope="app"), say)


class StreamlitClient:
    def __init__(self, base_url: str, timeout: float = 60.0, cookies: dict[str, str] | None = None,
                 source: str | None = None):
        """`cookies`: what a browser would send with the websocket's opening request (a reload
        sends the cookies the page set; a script that wants a new identity sends none). `source`:
        the local address to connect from (127.0.0.2, 127.0.0.3, ...: another device on loopback)."""
        self.base_url = base_url
        self.timeout = timeout
        ws_url = base_url.replace("http://", "ws://") + "/_stcore/stream"
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())} if cookies else None
        self.socket = connect(ws_url, subprotocols=["streamlit"], origin=base_url, open_timeout=timeout,
                              max_size=64 * 1024 * 1024, additional_headers=headers,
                              **({"source_address": (source, 0)} if source else {}))
        self.bytes_received = 0  # every message the server sent this session, as on the wire (uncompressed)
        self.pages: dict[str, str] = {}  # url pathname -> page_script_hash
        self.page_hash = ""
        self.widgets: dict[str, tuple[str, str]] = {}
        self.components: dict[str, tuple[str, str]] = {}
        self.timers: dict[str, float] = {}  # fragment id -> seconds: the `run_every` a browser keeps running

    def close(self) -> None:
        self.socket.close()

    def open_page(self, pathname: str = "", query_string: str = "") -> RunOutcome:
        """Like typing the page's address: Streamlit resolves the name to the page."""
        message = BackMsg()
        message.rerun_script.query_string = query_string
        message.rerun_script.page_name = pathname
        outcome = self._send_and_wait(message)
        self.widgets = outcome.widgets
        return outcome

    def set_slider(self, label: str, value: float) -> RunOutcome:
        return self._send_value(*self.widgets[label], lambda state: state.double_array_value.data.append(value))

    def click(self, label: str) -> RunOutcome:
        return self.send_trigger(*self.widgets[label])

    def send_trigger(self, widget_id: str, fragment_id: str = "") -> RunOutcome:
        """A button press for any widget id, rendered in this session or not: what a hand-made
        (forged) request can send."""
        return self._send_value(widget_id, fragment_id, lambda state: setattr(state, "trigger_value", True))

    def set_text(self, label: str, text: str) -> RunOutcome:
        return self._send_value(*self.widgets[label], lambda state: setattr(state, "string_value", text))

    def set_number(self, label: str, value: int) -> RunOutcome:
        return self._send_value(*self.widgets[label], lambda state: setattr(state, "int_value", value))

    def set_toggle(self, label: str, value: bool, widget_id: str | None = None) -> RunOutcome:
        """A toggle's new value; `widget_id` sends it for a widget this session may not have."""
        widget_id, fragment_id = (widget_id, "") if widget_id else self.widgets[label]
        return self._send_value(widget_id, fragment_id, lambda state: setattr(state, "bool_value", value))

    def choose(self, label: str, option: str) -> RunOutcome:
        """A pill (st.pills, one choice) picked: its option as the page formats it."""
        return self._send_value(*self.widgets[label], lambda state: state.string_array_value.data.append(option))

    def set_component_state(self, name: str, state: dict) -> RunOutcome:
        """What a browser component's setStateValue sends: its whole state as JSON. `name` is
        the component's registered name (its last part is enough)."""
        (widget_id, fragment_id), = [ids for full, ids in self.components.items() if full.endswith(name)]
        return self._send_value(widget_id, fragment_id, lambda widget: setattr(widget, "json_value", json.dumps(state)))

    def rerun_fragment(self, fragment_id: str) -> RunOutcome:
        """What the browser sends for a fragment's `run_every`: that fragment alone runs again."""
        message = self._rerun(fragment_id)
        message.rerun_script.is_auto_rerun = fragment_id in self.timers
        return self._send_and_wait(message)

    def fetch(self, media_url: str) -> bytes:
        with urllib.request.urlopen(self.base_url + media_url, timeout=self.timeout) as response:
            return response.read()

    def _send_value(self, widget_id: str, fragment_id: str, set_value) -> RunOutcome:
        """A rerun carrying one widget's new value (`set_value` fills in the WidgetState)."""
        message = self._rerun(fragment_id)
        state = message.rerun_script.widget_states.widgets.add()
        state.id = widget_id
        set_value(state)
        return self._send_and_wait(message)

    def _rerun(self, fragment_id: str) -> BackMsg:
        message = BackMsg()
        message.rerun_script.query_string = ""
        message.rerun_script.page_script_hash = self.page_hash
        if fragment_id:
            message.rerun_script.fragment_id = fragment_id
        return message

    def _send_and_wait(self, message: BackMsg) -> RunOutcome:
        """Send, then read until this request's run has finished. A run the server started unasked
        (a following student's page redrawn when the teacher moves on) is read past: what it
        sent before this request is drained first, and only a run that started after it counts."""
        self.read_unasked()
        started = time.perf_counter()
        self.socket.send(message.SerializeToString())
        outcome = RunOutcome(0.0)
        runs_started: set[str] = set()
        deadline = started + self.timeout
        while True:
            forward = self._receive(max(0.01, deadline - time.perf_counter()))
            self._read(forward, outcome)
            kind = forward.WhichOneof("type")
            if kind == "new_session":
                runs_started.add(forward.metadata.run.script_run_id)
            elif kind == "script_finished":
                if forward.script_finished == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                    continue  # the script asked for a rerun (st.rerun): its result comes next
                if forward.metadata.run.script_run_id not in runs_started:
                    continue  # the end of a run that started before this request
                outcome.seconds = time.perf_counter() - started
                self.widgets.update(outcome.widgets)  # what this run drew can be used next
                self.components.update(outcome.component_ids)
                return outcome

    def read_unasked(self, seconds: float = 0.0) -> RunOutcome:
        """Read what the server sent without being asked, for up to `seconds` (0: only what has
        come already); returns what those runs drew, and `seconds` is set when one finished."""
        outcome = RunOutcome(0.0)
        started = time.perf_counter()
        deadline = started + seconds
        while True:
            try:
                forward = self._receive(max(0.0, deadline - time.perf_counter()))
            except TimeoutError:
                return outcome
            self._read(forward, outcome)
            if forward.WhichOneof("type") == "script_finished" and \
                    forward.script_finished != ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                outcome.seconds = time.perf_counter() - started
                self.widgets.update(outcome.widgets)
                self.components.update(outcome.component_ids)
                if seconds:
                    return outcome

    def _receive(self, timeout: float) -> ForwardMsg:
        raw = self.socket.recv(timeout=timeout)
        self.bytes_received += len(raw)
        forward = ForwardMsg()
        forward.ParseFromString(raw)
        return forward

    def _read(self, forward: ForwardMsg, outcome: RunOutcome) -> None:
        """What one message tells this client: the pages, the page shown, the page's timers, what it drew."""
        kind = forward.WhichOneof("type")
        if kind == "new_session" and not forward.metadata.run.fragment_ids:
            self.timers = {}  # a whole run: its fragments say again which refresh themselves
            outcome.whole_page = True
        if kind in ("new_session", "navigation"):
            pages = getattr(forward, kind).app_pages
            self.pages.update({page.url_pathname: page.page_script_hash for page in pages})
        if kind == "navigation" and forward.navigation.page_script_hash:
            self.page_hash = forward.navigation.page_script_hash  # the page actually shown
        elif kind == "delta":
            self._read_delta(forward, outcome)
        elif kind == "auto_rerun":
            self.timers[forward.auto_rerun.fragment_id] = forward.auto_rerun.interval
        elif kind == "stop_auto_rerun":
            for fragment_id in forward.stop_auto_rerun.fragment_ids:
                self.timers.pop(fragment_id, None)

    @staticmethod
    def _read_delta(forward: ForwardMsg, outcome: RunOutcome) -> None:
        delta = forward.delta
        if delta.WhichOneof("type") != "new_element":
            return
        element = delta.new_element
        kind = element.WhichOneof("type")
        if kind == "imgs":
            outcome.images += [image.url for image in element.imgs.imgs]
        elif kind == "bidi_component":
            outcome.component_ids[element.bidi_component.component_name] = (element.bidi_component.id,
                                                                            delta.fragment_id)
            if element.bidi_component.json:
                outcome.components.append(json.loads(element.bidi_component.json))
        elif kind == "progress":
            outcome.progress.append(element.progress.text)
        elif kind == "exception":
            outcome.exceptions.append(f"{element.exception.type}: {element.exception.message}")
        elif kind in ("slider", "button", "text_input", "number_input", "checkbox", "button_group"):
            widget = getattr(element, kind)
            outcome.widgets[widget.label] = (widget.id, delta.fragment_id)
            if kind == "checkbox":
                outcome.toggles[widget.label] = widget.default
        elif kind == "markdown":
            outcome.texts.append(element.markdown.body)
        elif kind == "heading":
            outcome.texts.append(element.heading.body)
        elif kind == "alert":
            outcome.texts.append(element.alert.body)
