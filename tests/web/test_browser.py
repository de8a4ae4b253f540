"""The same session in a real browser: Debian's headless Chromium, driven by Selenium through the system's
chromedriver, types and clicks into textual-serve's page (xterm.js). The screen is read from the bytes the
page's websocket received, drawn by a terminal emulator, since xterm.js paints on a canvas. Skipped where
Chromium or its driver is not installed (`apt-get install chromium chromium-driver`)."""

from __future__ import annotations

import asyncio
import base64
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pyte
import pytest

from tests.web.conftest import PASSWORD, Served

webdriver = pytest.importorskip("selenium.webdriver")
CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
pytestmark = [pytest.mark.db, pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER),
                                                 reason="needs Debian's chromium and chromium-driver")]
# DIALER_SCREENSHOTS=docs renews the README's screenshots (docs/serve-*.png); else they go to the test's tmp
SCREENSHOTS = os.environ.get("DIALER_SCREENSHOTS")

# Keeps what the page's websocket receives, for the test to read (xterm.js draws on a canvas).
RECORD_FRAMES = """
const Native = window.WebSocket;
window.__frames = []; window.__socketUrl = null;
const keep = (buffer) => {
  const bytes = new Uint8Array(buffer); let text = "";
  for (let i = 0; i < bytes.length; i += 8192) text += String.fromCharCode(...bytes.subarray(i, i + 8192));
  window.__frames.push(btoa(text));
};
window.WebSocket = function (url, protocols) {
  const socket = protocols ? new Native(url, protocols) : new Native(url);
  window.__socketUrl = url;
  socket.addEventListener("message", (event) => {
    if (event.data instanceof ArrayBuffer) keep(event.data);
    else if (event.data instanceof Blob) event.data.arrayBuffer().then(keep);
  });
  return socket;
};
window.WebSocket.prototype = Native.prototype;
Object.assign(window.WebSocket, {CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3});
"""


class Page:
    """The browser's page and the screen it shows."""

    def __init__(self, driver: Any) -> None:
        self.driver = driver
        self.screen: pyte.Screen | None = None
        self.stream: pyte.ByteStream | None = None

    def text(self) -> str:
        if self.screen is None:
            url = self.driver.execute_script("return window.__socketUrl")
            if not url:
                return ""
            size = parse_qs(urlparse(url).query)
            self.screen = pyte.Screen(int(size["width"][0]), int(size["height"][0]))
            self.stream = pyte.ByteStream(self.screen)
        assert self.stream is not None
        for frame in self.driver.execute_script("return window.__frames.splice(0)"):
            self.stream.feed(base64.b64decode(frame))
        return "\n".join(self.screen.display)

    async def until(self, condition: Callable[[str], bool], what: str, timeout: float = 10.0) -> str:
        try:
            async with asyncio.timeout(timeout):
                while not condition(self.text()):
                    await asyncio.sleep(0.05)
        except TimeoutError:
            raise AssertionError(f"{what} never appeared; screen:\n{self.text()}") from None
        return self.text()

    async def until_shows(self, words: str, timeout: float = 10.0) -> str:
        return await self.until(lambda text: words in text, repr(words), timeout)

    def click(self, words: str) -> None:
        """A real mouse click on the middle of ``words`` where the terminal draws them."""
        from selenium.webdriver.common.action_chains import ActionChains
        from selenium.webdriver.common.by import By

        assert self.screen is not None
        rows = self.text().splitlines()
        row = next(i for i, line in enumerate(rows) if words in line)
        column = rows[row].find(words) + len(words) // 2
        area = self.driver.find_element(By.CSS_SELECTOR, ".xterm-screen")
        width, height = area.size["width"], area.size["height"]
        x = (column + 0.5) * width / self.screen.columns - width / 2      # offsets from the element's middle
        y = (row + 0.5) * height / self.screen.lines - height / 2
        ActionChains(self.driver).move_to_element_with_offset(area, int(x), int(y)).click().perform()

    def type(self, keys: str) -> None:
        from selenium.webdriver.common.action_chains import ActionChains

        ActionChains(self.driver).send_keys(keys).perform()

    def ctrl(self, key: str) -> None:
        from selenium.webdriver.common.action_chains import ActionChains
        from selenium.webdriver.common.keys import Keys

        ActionChains(self.driver).key_down(Keys.CONTROL).send_keys(key).key_up(Keys.CONTROL).perform()


@pytest.fixture
def chromium() -> Iterator[Any]:
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,900"):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": RECORD_FRAMES})
    try:
        yield driver
    finally:
        driver.quit()


async def test_in_chromium_an_operator_logs_in_takes_a_call_and_disposes_of_it(
        served: Served, chromium: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.keys import Keys

    shots = Path(SCREENSHOTS) if SCREENSHOTS else tmp_path
    page = Page(chromium)
    chromium.get(served.url)
    await page.until_shows("dialer — log in")
    page.click("name  ")
    page.type("anna")
    await page.until_shows("anna")
    page.click("password  ")
    page.type("a wrong password" + Keys.ENTER)
    await page.until_shows("wrong name or password")
    chromium.save_screenshot(str(shots / "serve-login.png"))
    page.type(PASSWORD + Keys.ENTER)
    await page.until_shows("Anna (ext 101)")
    page.type(Keys.F5)                                  # log in to the engine: it calls her phone
    await page.until_shows("READY")

    await served.connect_the_call()
    connected_at = asyncio.get_running_loop().time()
    await page.until_shows("first_name: Grace", timeout=5)
    assert asyncio.get_running_loop().time() - connected_at < 1.0

    await page.until_shows("disposition  ")
    page.click("disposition  ")
    await page.until_shows("Not interested (not_interested)")
    page.click("Not interested (not_interested)")
    await page.until(lambda text: "Sale (sale)" not in text, "the menu closing")
    page.click("notes  ")
    page.type("typed in Chromium")
    await page.until_shows("typed in Chromium")
    chromium.save_screenshot(str(shots / "serve-call.png"))
    page.ctrl("s")                          # Ctrl+S saves, as the console's keys say
    await page.until_shows("disposition not_interested sent")
    async with asyncio.timeout(5):
        while (row := await served.db.fetchrow(
                "SELECT disposition, notes FROM attempt WHERE disposition IS NOT NULL")) is None:
            await asyncio.sleep(0.05)
    assert (row["disposition"], row["notes"]) == ("not_interested", "typed in Chromium")
    events = [r["event"] for r in await served.db.fetch("SELECT event FROM login_audit ORDER BY id")]
    assert events[:2] == ["failed", "login"]
