"""People who log in, their roles and rights.

``passwords`` and ``lockout`` are pure rules (hashing; when failed logins lock an account), ``rights`` says
what a role may ask of the engine, and ``store`` keeps people, supervisors' campaigns and the login audit
in PostgreSQL. The engine's command handler (``dialer/commands.py``) and ``dialer serve`` use them.
"""
