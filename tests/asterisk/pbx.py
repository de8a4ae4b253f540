"""A real Asterisk for the tests: started in the foreground from an installed binary, with the project's
own ``config/asterisk/`` files in a private directory tree (its AMI side: ``tests/asterisk/observer.py``).

Only what running it needs is written here: ``asterisk.conf`` (every directory in the tree, modules and
documentation from the installation), ``modules.conf`` (``autoload = no`` and the modules the dialplan
uses), ``logger.conf`` and a simulated PSTN (``pstn-test.conf``, included from the project's
``extensions.conf``). ``manager.conf`` is the project's with its port, secret and an ``[observer]`` user
(read all) changed or added: the dialer user, its permissions and its event filters stay as shipped.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "config" / "asterisk"
PORTS = range(41600, 41700)
SECRET = "asterisk-test-secret"
OBSERVER_SECRET = "asterisk-test-observer"

# What the project's dialplan runs (config/asterisk/extensions.conf) and what ConfBridge needs to mix.
MODULES = [
    "pbx_config", "app_confbridge", "bridge_softmix", "bridge_simple", "bridge_holding",
    "bridge_builtin_features", "app_mixmonitor", "app_chanspy", "app_amd", "app_read", "app_playback",
    "app_userevent", "app_exec", "func_db", "func_logic", "func_strings", "func_channel", "func_periodic_hook",
    "func_cut", "func_groupcount", "func_uri",   # func_periodic_hook's (MixMonitor's beep) needs
    "format_wav", "format_pcm", "format_gsm", "format_sln", "format_wav_gsm",
    "codec_ulaw", "codec_alaw", "codec_a_mu", "codec_gsm", "codec_resample", "res_timing_timerfd",
    "app_senddtmf",   # the test PSTN's callee who presses 9, not the project's dialplan
]

# Files a stock installation has from its samples; without them Asterisk logs errors at start (AMD()
# refuses to load with no amd.conf, Busy()/Congestion() need indications for their tones).
STOCK = {
    "amd.conf": "[general]\n",
    "indications.conf": "[general]\ncountry = us\n[us]\ndescription = United States\nringcadence = 2000,4000\n"
                        "dial = 350+440\nbusy = 480+620/500,0/500\nring = 440+480/2000,0/4000\n"
                        "congestion = 480+620/250,0/250\n",
    "cdr.conf": "[general]\nenable = no\n",
    "cel.conf": "[general]\nenable = no\n",
    "ccss.conf": "[general]\n", "features.conf": "[general]\n", "acl.conf": "", "udptl.conf": "[general]\n",
}

# A telephone network without lines: the first digit of the dialed number decides, the next two give
# the seconds a person talks once answered (with ringing first, as a phone would).
PSTN = """\
[pstn-test]
; 1NN…: rings 1 s, answers, talks NN seconds, hangs up (normal clearing)
exten => _1XX.,1,Ringing()
 same => n,Wait(1)
 same => n,Answer()
 same => n,Wait(${EXTEN:1:2})
 same => n,Hangup(16)
; 2…: busy after a second
exten => _2X.,1,Wait(1)
 same => n,Busy(3)
; 3…: rings until the Originate times out
exten => _3X.,1,Ringing()
 same => n,Wait(600)
; 4…: the network is congested
exten => _4X.,1,Congestion(3)
; 6NN…: rings NN seconds, answers, and keys 9 every second (a callee who opts out when asked to)
exten => _6XX.,1,Ringing()
 same => n,Wait(${EXTEN:1:2})
 same => n,Answer()
 same => n(key),Wait(1)
 same => n,SendDTMF(9)
 same => n,Goto(key)
; 7NN…: rings NN seconds, answers, and listens until the other side hangs up
exten => _7XX.,1,Ringing()
 same => n,Wait(${EXTEN:1:2})
 same => n,Answer()
 same => n,Wait(600)
"""


def free_port() -> int:
    for port in PORTS:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {PORTS.start}-{PORTS.stop - 1}")


def manager_conf(port: int) -> str:
    """The project's manager.conf on a test port and secret, plus a read-all observer."""
    text = (CONFIG / "manager.conf").read_text()
    text = re.sub(r"(?m)^port\s*=.*$", f"port = {port}", text)
    text = re.sub(r"(?m)^bindaddr\s*=.*$", "bindaddr = 127.0.0.1", text)
    text = re.sub(r"(?m)^secret\s*=.*$", f"secret = {SECRET}", text)
    return text + (f"\n[observer]\nsecret = {OBSERVER_SECRET}\ndeny = 0.0.0.0/0.0.0.0\n"
                   "permit = 127.0.0.1/255.255.255.255\nread = all\nwrite = \n")


class Asterisk:
    """One Asterisk process at a time over one directory tree: start, CLI commands, stop, start again."""

    def __init__(self, binary: str, port: int | None = None, base: Path | None = None) -> None:
        self.binary = Path(binary)
        self.prefix = self.binary.resolve().parents[1]
        self.port = port or free_port()
        # A short path: the CLI's control socket lives in it, and unix socket paths are short.
        self.base = base or Path(tempfile.mkdtemp(prefix="ast-"))
        self.conf = self.base / "etc" / "asterisk.conf"
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self._write_config()

    # ---- configuration -------------------------------------------------------------------------------

    def _write_config(self) -> None:
        b, p = self.base, self.prefix
        for sub in ("etc", "lib", "run", "log", "spool/monitor", "data", "agi"):
            (b / sub).mkdir(parents=True, exist_ok=True)
        docs = p / "var" / "lib" / "asterisk" / "documentation"
        if docs.exists() and not (b / "data" / "documentation").exists():
            (b / "data" / "documentation").symlink_to(docs)
        # The shipped prompts, file by file: the folders stay this Asterisk's own, so a campaign's seller
        # prompt (dialer campaign prompts) can be written beside them, as on a real install.
        for shipped in (CONFIG / "sounds").rglob("*.wav"):
            link = b / "data" / "sounds" / shipped.relative_to(CONFIG / "sounds")
            if not link.exists():
                link.parent.mkdir(parents=True, exist_ok=True)
                link.symlink_to(shipped)
        etc = b / "etc"
        self.conf.write_text(
            "[directories]\n"
            f"astetcdir => {etc}\nastmoddir => {p / 'lib' / 'asterisk' / 'modules'}\n"
            f"astvarlibdir => {b / 'lib'}\nastdbdir => {b / 'lib'}\nastkeydir => {b / 'lib'}\n"
            f"astdatadir => {b / 'data'}\nastagidir => {b / 'agi'}\nastspooldir => {b / 'spool'}\n"
            f"astrundir => {b / 'run'}\nastlogdir => {b / 'log'}\nastsbindir => {p / 'sbin'}\n"
            "[options]\nverbose = 3\ndocumentation_language = en_US\nhideconnect = yes\n")
        (etc / "modules.conf").write_text(
            "[modules]\nautoload = no\n" + "".join(f"load => {m}.so\n" for m in MODULES))
        (etc / "logger.conf").write_text(
            "[general]\ndateformat = %F %T.%3q\n[logfiles]\nmessages.log => notice,warning,error\n"
            "full.log => notice,warning,error,verbose,dtmf\nconsole => notice,warning,error\n")
        for name, text in STOCK.items():
            (etc / name).write_text(text)
        (etc / "manager.conf").write_text(manager_conf(self.port))
        (etc / "confbridge.conf").write_text((CONFIG / "confbridge.conf").read_text())
        (etc / "pstn-test.conf").write_text(PSTN)
        (etc / "extensions.conf").write_text(
            (CONFIG / "extensions.conf").read_text() + '\n#include "pstn-test.conf"\n')

    # ---- the process ---------------------------------------------------------------------------------

    def start(self, timeout_s: float = 30.0) -> None:
        """Start in the foreground and wait until it is fully booted and AMI answers."""
        assert self.proc is None or self.proc.poll() is not None, "already running"
        self.starts += 1
        out = open(self.base / "log" / f"stdout-{self.starts}.log", "wb")
        self.proc = subprocess.Popen([str(self.binary), "-f", "-n", "-C", str(self.conf)],
                                     stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout_s
        while True:
            assert self.proc.poll() is None, f"asterisk exited at start: {self.stdout_tail()}"
            assert time.monotonic() < deadline, f"asterisk did not boot: {self.stdout_tail()}"
            if self._booted():
                return
            time.sleep(0.2)

    def _booted(self) -> bool:
        try:
            done = subprocess.run([str(self.binary), "-C", str(self.conf), "-rx", "core waitfullybooted"],
                                  capture_output=True, timeout=10)
        except subprocess.TimeoutExpired:
            return False
        if done.returncode != 0 or b"fully booted" not in done.stdout:
            return False
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
            return s.recv(64).startswith(b"Asterisk Call Manager")
        return False

    def cli(self, command: str, timeout_s: float = 10.0) -> str:
        done = subprocess.run([str(self.binary), "-C", str(self.conf), "-rx", command],
                              capture_output=True, timeout=timeout_s)
        return done.stdout.decode(errors="replace")

    def cli_nowait(self, command: str) -> subprocess.Popen[bytes]:
        """A CLI command that returns only when Asterisk has gone (``core stop gracefully``, ``… now``)."""
        return subprocess.Popen([str(self.binary), "-C", str(self.conf), "-rx", command],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def wait_exit(self, timeout_s: float) -> int | None:
        assert self.proc is not None
        try:
            return self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return None

    def stop(self) -> None:
        """``core stop now``; SIGKILL if it does not go."""
        if not self.running:
            return
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.cli("core stop now", timeout_s=5)
        if self.wait_exit(10) is None:
            assert self.proc is not None
            self.proc.kill()
            self.proc.wait()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)

    # ---- what it said ----------------------------------------------------------------------------------

    def stdout_tail(self, chars: int = 3000) -> str:
        path = self.base / "log" / f"stdout-{self.starts}.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    def messages(self) -> list[str]:
        """Asterisk's messages log (notices, warnings, errors) over every start."""
        path = self.base / "log" / "messages.log"
        return path.read_text(errors="replace").splitlines() if path.exists() else []

    def warnings(self) -> list[str]:
        return [line for line in self.messages() if "WARNING[" in line or "ERROR[" in line]

    def channels(self) -> list[dict[str, str]]:
        """``core show channels concise``: one dict per channel."""
        keys = ("channel", "context", "exten", "priority", "state", "application", "data", "callerid",
                "accountcode", "peeraccount", "amaflags", "duration", "bridge", "uniqueid")
        rows = []
        for line in self.cli("core show channels concise").splitlines():
            parts = line.split("!")
            if len(parts) >= len(keys):
                rows.append(dict(zip(keys, parts, strict=False)))
        return rows
