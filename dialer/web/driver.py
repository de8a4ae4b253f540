"""Two Textual apps, one after the other, over one textual-serve session.

textual-serve expects one app per process: the app announces itself once (``__GANGLION__``) and its
``exit`` packet closes the browser's session. The login is its own small app, so when it hands over to
the person's screen its driver neither says ``exit`` nor leaves its reader on stdin (which would eat the
next app's keys), and the next app's driver does not announce itself again.
"""

from __future__ import annotations

import os

from textual import events, messages
from textual.drivers.web_driver import WebDriver

PRELUDE = b"__GANGLION__\n"


class SessionDriver(WebDriver):
    """An app that ends with a true ``hands_over`` attribute leaves the session open for the next one."""

    _handed_over = False  # an earlier app of this process has announced the session
    _page_focused = False  # the browser's last word on focus (the next app starts as the page is)

    def start_application_mode(self) -> None:
        if not SessionDriver._handed_over:
            super().start_application_mode()
            return
        write = self._write
        self._write = lambda data: len(data) if data == PRELUDE else write(data)   # type: ignore[method-assign]
        try:
            super().start_application_mode()   # which ends with the app blurred until the page says otherwise
        finally:
            self._write = write   # type: ignore[method-assign]
        if SessionDriver._page_focused:    # the page will not say it again: it never lost the focus
            self._app.call_later(self._app.post_message, events.AppFocus())

    def run_input_thread(self) -> None:
        super().run_input_thread()
        if not self.exit_event.is_set():
            # stdin ended without the app stopping: the server is gone (restarted, killed). Nobody can see
            # or type into this session any more; left running it would hold its store connections for ever.
            self._app.post_message(messages.ExitApp())

    def on_meta(self, packet_type: str, payload: dict[str, object]) -> None:
        if packet_type in ("focus", "blur"):
            SessionDriver._page_focused = packet_type == "focus"
        super().on_meta(packet_type, payload)

    def stop_application_mode(self) -> None:
        if not getattr(self._app, "hands_over", False):
            super().stop_application_mode()
            return
        SessionDriver._handed_over = True
        self.write("\x1b[2J\x1b[H")   # the next app draws only what it changes: no trace of the login stays
        self.flush()
        self.exit_event.set()
        self._input_reader.close()
        self._key_thread.join(timeout=2.0)   # its reader wakes every 0.1 s to see it is closed
        if self._size is not None:           # the browser's size, for the next app's first frame
            os.environ["COLUMNS"], os.environ["ROWS"] = (str(n) for n in self._size)
