"""``dialer serve``: the people's screens in a browser, behind a login.

``workers.py`` starts one worker process per core; each (``server.py``) serves textual-serve's page and
runs every browser session that connects to it as an asyncio task (``session.py``): the login
(``login.py``), then the person's own screen, an operator their console, a supervisor the watch view of
their campaigns, a manager the watch view of all, drawn into the page's websocket (``browser.py``,
``driver.py``). The workers hold the store's credentials; the browser holds none.
"""
