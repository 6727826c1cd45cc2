"""A real nginx for tests, configured with the file docs/deployment.md publishes.

`published_config()` is the ```nginx block of that page (the first one); `render()` replaces only
the instance addresses and the `listen`/`ssl_` lines, and fails if any of them is not found, so
the page and the test cannot drift apart. `running_nginx()` starts nginx as a child process
(never as root: as `nobody` when the tests run as root) with its prefix, temp dirs and logs in a
fresh directory, on a loopback port, and waits until it accepts connections.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Final

from tests.e2e.deploy.conftest import unavailable
from tests.servers import ROOT, TIME_SCALE

DEPLOYMENT_DOC: Final = ROOT / "docs" / "deployment.md"
PUBLISHED_INSTANCES: Final = ("10.0.0.11:8080", "10.0.0.12:8080", "10.0.0.13:8080")
PUBLISHED_LISTEN: Final = "listen 443 ssl;"
UPSTREAM_HEADER: Final = "X-Upstream"
"""Added by the test's own `http` block (not the published file): which instance answered."""
_SSL_LINE: Final = re.compile(r"^\s*ssl_\w+\s[^;]*;\n", re.MULTILINE)
_UNPRIVILEGED: Final = "nobody"

MAIN_CONFIG: Final = """\
worker_processes 1;
pid {dir}/nginx.pid;
error_log stderr warn;
events {{ worker_connections 1024; }}
http {{
    client_body_temp_path {dir}/client_body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    access_log {dir}/access.log;
    add_header {header} $upstream_addr always;
    include {dir}/axp-chat-connector.conf;
}}
"""


def published_config(doc: Path = DEPLOYMENT_DOC) -> str:
    """The first ```nginx block of the deployment page."""
    found = re.search(r"^```nginx\n(.*?)^```$", doc.read_text(), re.MULTILINE | re.DOTALL)
    assert found, f"no ```nginx block in {doc}"
    return found.group(1)


def render(published: str, instances: Sequence[str], port: int) -> str:
    """The published file for `instances` (host:port) and a plain listener on 127.0.0.1:`port`."""
    assert len(instances) == len(PUBLISHED_INSTANCES)
    text = published
    for address, instance in zip(PUBLISHED_INSTANCES, instances, strict=True):
        assert text.count(f"server {address} ") == 1, f"{address} not once in the published file"
        text = text.replace(f"server {address} ", f"server {instance} ")
    assert text.count(PUBLISHED_LISTEN) == 1, f"{PUBLISHED_LISTEN!r} not once in the file"
    text = text.replace(PUBLISHED_LISTEN, f"listen 127.0.0.1:{port};")
    text, removed = _SSL_LINE.subn("", text)
    assert removed, "no ssl_ line in the published file"
    return text


def nginx_binary() -> str:
    """nginx's path, or skip (fail under CI) with how to install it."""
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    if found is None:
        unavailable("nginx is not installed (`apt-get install -y nginx`, or scripts/ensure-nginx)")
    assert found is not None
    return found


def _accepts(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@contextlib.contextmanager
def running_nginx(instances: Sequence[str], port: int) -> Iterator[Path]:
    """nginx in front of `instances` on 127.0.0.1:`port`; yields its directory (logs)."""
    binary = nginx_binary()
    directory = Path(tempfile.mkdtemp(prefix="axp-nginx-"))
    user = _UNPRIVILEGED if os.geteuid() == 0 else None
    (directory / "axp-chat-connector.conf").write_text(render(published_config(), instances, port))
    (directory / "nginx.conf").write_text(MAIN_CONFIG.format(dir=directory, header=UPSTREAM_HEADER))
    if user is not None:
        entry = pwd.getpwnam(user)
        os.chown(directory, entry.pw_uid, entry.pw_gid)
    command = [binary, "-p", str(directory), "-c", str(directory / "nginx.conf"), "-e", "stderr"]
    check = subprocess.run([*command, "-t"], capture_output=True, text=True, user=user)
    assert check.returncode == 0, f"nginx -t: {check.stderr}"
    with (directory / "stderr.log").open("wb") as log:
        proc = subprocess.Popen(
            [*command, "-g", "daemon off;"], stdout=log, stderr=subprocess.STDOUT, user=user
        )
    try:
        deadline = time.monotonic() + 10 * TIME_SCALE
        while not _accepts(port):
            assert proc.poll() is None, (directory / "stderr.log").read_text()
            assert time.monotonic() < deadline, "nginx did not listen within 10 s"
            time.sleep(0.05)  # noqa: sleep-ok (poll interval of a deadline-bounded wait)
        yield directory
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(directory, ignore_errors=True)
