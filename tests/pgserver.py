"""A private PostgreSQL server for the tests and benchmarks of the hub (issue 15): never a mock.

``PgServer.start()`` runs Debian's ``initdb`` into a fresh temporary folder, starts ``postgres``
on a free TCP port of 127.0.0.1 (its unix socket in the same folder), and ``stop()`` shuts it down
and removes the folder. PostgreSQL refuses to run as root, so under root (CI, a fresh Debian
machine) the server runs as the unprivileged ``postgres`` user that Debian's package creates (or
``capture-station-pg``, created when missing); a developer's own user runs it as themselves.

The server is a child of the test process that dies with it (``PR_SET_PDEATHSIG``), so a killed
test run leaves no server behind; folders of dead runs are swept by the next ``start()``.
Durability is switched off (``fsync=off``): the tests are about behaviour, not about disks.
"""

from __future__ import annotations

import contextlib
import ctypes
import glob
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

PREFIX = "station-pg-"
SUPERUSER = "postgres"
FALLBACK_USER = "capture-station-pg"
_PR_SET_PDEATHSIG = 1


class PgUnavailable(RuntimeError):
    """PostgreSQL's server programs are not installed (``scripts/setup-system.sh test``)."""


def find_bindir() -> Path:
    """The folder with ``initdb`` and ``postgres``: $STATION_TEST_PG_BIN, Debian's newest, or PATH."""
    override = os.environ.get("STATION_TEST_PG_BIN")
    candidates = [Path(override)] if override else []
    candidates += sorted((Path(p).parent for p in glob.glob("/usr/lib/postgresql/*/bin/initdb")),
                         key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
                         reverse=True)
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).parent)
    for folder in candidates:
        if (folder / "initdb").is_file() and (folder / "postgres").is_file():
            return folder
    raise PgUnavailable("PostgreSQL server programs (initdb, postgres) not found: run "
                        "`scripts/setup-system.sh test` (Debian package `postgresql`) or set "
                        "STATION_TEST_PG_BIN to their folder")


def _server_account() -> pwd.struct_passwd | None:
    """The unprivileged account to run the server as when we are root (None: run as ourselves)."""
    if os.geteuid() != 0:
        return None
    for name in (SUPERUSER, FALLBACK_USER):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    subprocess.run(["useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent",
                    "--shell", "/usr/sbin/nologin", FALLBACK_USER], check=True,
                   capture_output=True)
    return pwd.getpwnam(FALLBACK_USER)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _die_with_parent() -> None:
    """In the child, after it dropped to the server account: SIGQUIT (immediate stop) when the
    test process dies, however it dies."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGQUIT, 0, 0, 0)


def sweep_stale(tmp: Path | None = None) -> list[Path]:
    """Remove server folders of earlier runs whose server is gone."""
    removed = []
    for folder in Path(tmp or tempfile.gettempdir()).glob(PREFIX + "*"):
        pidfile = folder / "data" / "postmaster.pid"
        try:
            pid = int(pidfile.read_text().split("\n", 1)[0])
            os.kill(pid, 0)
            continue                              # still running
        except (OSError, ValueError):
            pass
        marker = folder / "owner"
        try:
            owner = int(marker.read_text())
        except (OSError, ValueError):
            continue                              # not one of ours
        try:
            os.kill(owner, 0)
            continue                              # its test run is alive (starting up)
        except OSError:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


@dataclass
class PgServer:
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix=PREFIX)))
    port: int = 0
    password: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    bindir: Path | None = None
    proc: subprocess.Popen[bytes] | None = None
    tls: bool = False                      # serve TLS with a certificate of a test CA (ca_file)
    settings: dict[str, str] = field(default_factory=dict)   # more `-c name=value` (the bench's)

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root / "sock"

    @property
    def log(self) -> Path:
        return self.root / "server.log"

    @property
    def ca_file(self) -> Path:
        """The test CA's certificate, for ``sslrootcert`` (with ``tls=True``)."""
        return self.root / "ca.crt"

    def _make_certificates(self, account: pwd.struct_passwd | None) -> None:
        """A test CA and a server certificate for localhost / 127.0.0.1 signed by it."""
        import datetime as dt

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        now = dt.datetime.now(dt.UTC)
        ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "station test CA")])
        ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
              .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
              .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
              .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
              .sign(ca_key, hashes.SHA256()))
        import ipaddress

        cert = (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
                .issuer_name(ca_name).public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
                .add_extension(x509.SubjectAlternativeName([
                    x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                    critical=False)
                .sign(ca_key, hashes.SHA256()))
        pem = serialization.Encoding.PEM
        self.ca_file.write_bytes(ca.public_bytes(pem))
        (self.root / "server.crt").write_bytes(cert.public_bytes(pem))
        key_file = self.root / "server.key"
        key_file.write_bytes(key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
        os.chmod(key_file, 0o600)
        if account is not None:
            for path in (self.root / "server.crt", key_file):
                os.chown(path, account.pw_uid, account.pw_gid)

    def dsn(self, dbname: str = "postgres", user: str = SUPERUSER, password: str | None = None,
            **params: str) -> str:
        """A ``postgresql://`` URL over TCP with a password, as stations would use."""
        secret = self.password if password is None and user == SUPERUSER else password
        auth = quote(user, safe="") + (":" + quote(secret, safe="") if secret else "")
        query = "&".join(f"{k}={quote(v, safe='')}" for k, v in params.items())
        return (f"postgresql://{auth}@127.0.0.1:{self.port}/{quote(dbname, safe='')}"
                + (f"?{query}" if query else ""))

    def _run(self, args: list[str], account: pwd.struct_passwd | None, **kw: object) -> None:
        extra: dict[str, object] = {}
        if account is not None:
            extra = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
        env = {"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8",
               "HOME": str(self.root)}
        subprocess.run(args, check=True, capture_output=True, env=env, cwd=self.root,
                       timeout=300, **extra, **kw)  # type: ignore[call-overload]

    def start(self, timeout: float = 180.0) -> PgServer:
        self.bindir = self.bindir or find_bindir()
        sweep_stale(self.root.parent)
        account = _server_account()
        (self.root / "owner").write_text(str(os.getpid()))
        self.socket_dir.mkdir(mode=0o700)
        pwfile = self.root / "pw"
        pwfile.write_text(self.password + "\n")
        if account is not None:
            for path in (self.root, self.socket_dir, pwfile):
                os.chown(path, account.pw_uid, account.pw_gid)
        os.chmod(self.root, 0o700)
        os.chmod(pwfile, 0o600)
        try:
            self._run([str(self.bindir / "initdb"), "-D", str(self.data), "-U", SUPERUSER,
                       "--pwfile", str(pwfile), "--auth-local=trust", "--auth-host=scram-sha-256",
                       "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync"], account)
        except subprocess.CalledProcessError as exc:
            raise RuntimeError(f"initdb failed: {exc.stderr.decode(errors='replace')}") from None
        finally:
            pwfile.unlink(missing_ok=True)
        if self.tls:
            self._make_certificates(account)
        last_error = "did not start"
        for _attempt in range(3):                 # another process may take the free port first
            self.port = free_port()
            if self._launch(account, timeout):
                return self
            last_error = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
        self.stop()
        raise RuntimeError(f"postgres did not start: {last_error}")

    def _launch(self, account: pwd.struct_passwd | None, timeout: float) -> bool:
        assert self.bindir is not None
        args = [str(self.bindir / "postgres"), "-D", str(self.data), "-p", str(self.port),
                "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={self.socket_dir}",
                "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
                "-c", "max_connections=120", "-c", "shared_buffers=32MB",
                "-c", "log_min_messages=warning", "-c", "logging_collector=off"]
        for name, value in self.settings.items():
            args += ["-c", f"{name}={value}"]
        if self.tls:
            args += ["-c", "ssl=on", "-c", f"ssl_cert_file={self.root / 'server.crt'}",
                     "-c", f"ssl_key_file={self.root / 'server.key'}"]
        extra: dict[str, object] = {}
        if account is not None:
            extra = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
        log = self.log.open("ab")
        env = {"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}
        self.proc = subprocess.Popen(args, stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                                     env=env, cwd=self.root, preexec_fn=_die_with_parent,
                                     **extra)  # type: ignore[call-overload]
        log.close()
        deadline = time.monotonic() + timeout
        import psycopg

        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                with psycopg.connect(self.dsn(), connect_timeout=5):
                    return True
            except psycopg.OperationalError:
                time.sleep(0.1)
        self.proc.kill()
        self.proc.wait()
        return False

    def create_database(self, name: str) -> str:
        """A new empty database; its superuser DSN."""
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.dsn(name)

    def drop_database(self, name: str) -> None:
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def stop(self) -> None:
        """Stop the server (fast shutdown, then immediate) and remove its folder."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.send_signal(signal.SIGQUIT)
                self.proc.wait(timeout=60)
        shutil.rmtree(self.root, ignore_errors=True)
