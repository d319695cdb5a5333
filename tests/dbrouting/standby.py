"""A real streaming standby for the lag tests: a small primary cluster of the test's own (initdb in a temporary
directory), a standby made from it with `pg_basebackup -R`, both started on free ports with the server binaries of
/usr/lib/postgresql/*/bin, as the `postgres` OS user when the tests run as root. The shared server is not touched.
"""

import glob
import os
import pwd
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path


def server_binaries() -> Path | None:
    def version(path):
        name = Path(path).parent.name
        return int(name) if name.isdigit() else 0

    found = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version)
    for directory in reversed(found):
        if all((Path(directory) / tool).exists() for tool in ("initdb", "pg_ctl", "pg_basebackup", "postgres")):
            return Path(directory)
    return None


def why_no_standby() -> str | None:
    """None when a standby can be started here, else why not (the tests skip with it)."""
    if server_binaries() is None:
        return "no PostgreSQL server binaries (initdb, pg_ctl, pg_basebackup) under /usr/lib/postgresql/*/bin"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no `postgres` OS user to run a server as"
        if shutil.which("runuser") is None:
            return "running as root without `runuser` to start a server as `postgres`"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Standby:
    """A primary and its streaming standby, both on 127.0.0.1, user `postgres`, trust, database `postgres`."""

    directory: Path
    primary_port: int
    standby_port: int

    def _run(self, *command, check=True):
        binaries = server_binaries()
        command = [str(binaries / command[0]), *command[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, check=check, capture_output=True, text=True, timeout=120)

    @classmethod
    def start(cls, directory: Path) -> "Standby":
        directory.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(directory, user.pw_uid, user.pw_gid)
        standby = cls(directory, _free_port(), _free_port())
        primary, replica = directory / "primary", directory / "standby"
        standby._run("initdb", "-D", str(primary), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        settings = (f"port = {standby.primary_port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{directory}'\n"
                    "fsync = off\nwal_level = replica\nmax_wal_senders = 4\nshared_buffers = 16MB\n")
        (primary / "postgresql.auto.conf").write_text(settings)
        standby._run("pg_ctl", "-D", str(primary), "-l", str(directory / "primary.log"), "-w", "start")
        standby._run("pg_basebackup", "-h", "127.0.0.1", "-p", str(standby.primary_port), "-U", "postgres", "-D",
                     str(replica), "-R", "-X", "stream", "-c", "fast", "--no-sync")
        with open(replica / "postgresql.auto.conf", "a") as conf:
            conf.write(f"port = {standby.standby_port}\nhot_standby = on\n")
        standby._run("pg_ctl", "-D", str(replica), "-l", str(directory / "standby.log"), "-w", "start")
        return standby

    def stop(self):
        for name in ("standby", "primary"):
            if (self.directory / name / "postmaster.pid").exists():
                self._run("pg_ctl", "-D", str(self.directory / name), "-m", "immediate", "stop", check=False)
        shutil.rmtree(self.directory, ignore_errors=True)
