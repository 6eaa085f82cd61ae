"""Running it for real: the systemd unit in deploy/ and `make run`'s options."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from servers import free_port, get, running

from conftest import DATA

ROOT = Path(__file__).parent.parent
UNIT = ROOT / "deploy" / "feeds.service"
FEEDS = Path(sys.executable).parent / "feeds"
ANALYZE = shutil.which("systemd-analyze")
MAX_EXPOSURE = 2.0  # systemd-analyze security: below 2 is "OK", the best band but one
needs_analyze = pytest.mark.skipif(
    ANALYZE is None, reason="systemd-analyze is missing (Debian package systemd)"
)


def installed_unit(folder: Path) -> Path:
    """The unit as an installation would have it: feeds where ExecStart looks for it."""
    text = UNIT.read_text().replace("/opt/feeds/bin/feeds", str(FEEDS))
    path = folder / "feeds.service"
    path.write_text(text)
    return path


@needs_analyze
def test_the_unit_verifies_without_a_warning(tmp_path: Path) -> None:
    done = subprocess.run([ANALYZE, "verify", str(installed_unit(tmp_path))],  # type: ignore[list-item]
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0 and not done.stderr.strip() and not done.stdout.strip(), (
        done.stdout + done.stderr
    )


@needs_analyze
def test_the_unit_is_hardened(tmp_path: Path) -> None:
    command = [ANALYZE, "security", "--offline=true", str(installed_unit(tmp_path))]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)  # type: ignore[arg-type]
    found = re.search(r"Overall exposure level for feeds\.service: ([0-9.]+)", done.stdout)
    assert found, done.stdout + done.stderr
    assert float(found[1]) <= MAX_EXPOSURE, done.stdout


def test_the_unit_command_serves_from_its_settings(tmp_path: Path) -> None:
    """ExecStart with the unit's Environment= lines (paths and port made local) serves."""
    env = dict(re.findall(r"^Environment=(FEEDS_\w+)=(.*)$", UNIT.read_text(), re.MULTILINE))
    assert {"FEEDS_COLLECTION", "FEEDS_INDEX", "FEEDS_HOST", "FEEDS_PORT"} <= env.keys()
    port = free_port()
    env |= {"FEEDS_COLLECTION": str(DATA / "collection"), "FEEDS_INDEX": str(tmp_path / "index"),
            "FEEDS_PORT": str(port), "FEEDS_GIT_DATES": "0", "PATH": "/usr/bin:/bin"}  # fmt: skip
    command = re.search(r"^ExecStart=(.*)$", UNIT.read_text(), re.MULTILINE)[1].split()  # type: ignore[index]
    command[0] = str(FEEDS)
    url = f"http://{env['FEEDS_HOST']}:{port}"
    with running(command, [tmp_path / "serve.log"], url + "/topics.json", "feeds serve", env):
        assert get(url + "/feeds/korea.atom").status == 200
        assert f"<id>{url}/".encode() not in get(url + "/feeds/korea.atom").body
        assert f'href="{url}/feeds/korea.atom"'.encode() in get(url + "/feeds/korea.atom").body


@pytest.mark.skipif(shutil.which("make") is None, reason="make is missing")
def test_make_run_takes_a_collection_and_a_port() -> None:
    done = subprocess.run(["make", "-n", "-C", str(ROOT), "run", "COLLECTION=/srv/my news",
                           "PORT=8123"], capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert 'feeds serve --collection "/srv/my news" --host 127.0.0.1 --port "8123"' in done.stdout


def test_status_gives_what_to_monitor(settings, make_app, collection: Path) -> None:
    (collection / "junk.txt").write_bytes(b"\x00\x01\x02")
    app = make_app(settings)
    client = app.test_client()
    response = client.get("/status.json")
    assert response.headers["Cache-Control"] == "no-store"
    first = response.get_json()
    assert (first["articles"], first["problems"], first["errors"]) == (4, 1, 1)
    assert first["reload_error"] is None and first["checked_seconds_ago"] >= 0
    live = app.extensions["feeds"]
    live.checked_at -= 120  # as if the last check was two minutes ago
    assert client.get("/status.json").get_json()["checked_seconds_ago"] >= 120
    (collection / "junk.txt").unlink()
    assert live.check() is True
    after = client.get("/status.json").get_json()
    assert after["problems"] == 0 and after["checked_seconds_ago"] < 60
