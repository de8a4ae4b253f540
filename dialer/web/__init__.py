"""``dialer serve``: the people's screens in a browser, through textual-serve.

textual-serve starts one process per browser session (``python -m dialer.web``) and relays the screen
and the keys over a websocket. That process holds the store's credentials; the browser holds none. It
shows the login (``login.py``) and then, in the same process, the person's own screen (``session.py``):
an operator their console, a supervisor the watch view of their campaigns, a manager the watch view of all.
"""
