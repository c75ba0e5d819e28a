"""Fixtures for the Python binding tests: the generated module, a key provider, a clock and
synthetic registrations. Run `bindings/generate.sh` first (it writes `../generated`)."""

import datetime
import json
import os
import secrets
import subprocess
import sys
import time
import types

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "generated"))

import lgt_common  # noqa: E402
import lgt_core  # noqa: E402
import lgt_ffi  # noqa: E402

# Synthetic only: Beijing Chaoyang district code with invented birth dates and sequences.
WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
CHECK = "10X98765432"
START = datetime.datetime(2026, 11, 29, 2, 0, tzinfo=datetime.timezone.utc)


def id_number(birth="19880512", sequence=123, region="110105"):
    """A valid GB 11643 number; odd sequences are male."""
    body = f"{region}{birth}{sequence:03d}"
    total = sum(int(d) * w for d, w in zip(body, WEIGHTS))
    return body + CHECK[total % 11]


class MemoryKeys(lgt_ffi.KeyProvider):
    """A key provider holding its key in memory (the shells use the Keystore / Keychain)."""

    def __init__(self, key=None):
        self.key = key if key is not None else secrets.token_bytes(32)
        self.destroyed = False

    def data_key(self):
        if self.destroyed:
            raise lgt_ffi.LgtError.KeyUnavailable(
                code="key.destroyed", message_en="key destroyed", message_zh="密钥已销毁"
            )
        return self.key

    def destroy_key(self):
        self.destroyed = True


class MovableClock(lgt_ffi.Clock):
    """A clock that stands still until moved."""

    def __init__(self, at=START):
        self.at = at

    def now_unix_millis(self):
        return int(self.at.timestamp() * 1000)

    def move_to(self, day):
        self.at = datetime.datetime.combine(day, datetime.time(2, 0), datetime.timezone.utc)


def registration(name="测试甲", number=None, sequence=123, house="HC1000101"):
    return lgt_core.RegistrationInput(
        person=lgt_core.PersonInput(
            name=name, former_name=None, sex="1" if sequence % 2 else "2",
            ethnicity="01", birth_date=None,
        ),
        document=lgt_core.DocumentInput(doc_type="1", number=number or id_number(sequence=sequence)),
        household_address="合成省第一县演示村一组",
        dwelling=lgt_common.Dwelling(
            house_code=house, address="合成市第一区演示路1号101室", housing_type="3"
        ),
        moved_in="2026-03-01",
        expected_stay_until=None,
        reason_for_stay="1",
        occupation="1",
        employer=None,
        landlord=None,
        householder=None,
        contact_phone="19900001234",
    )


def config(path, actor="tester-1"):
    return lgt_ffi.StoreConfig(dir=str(path), actor=actor, durability=lgt_core.Durability.NORMAL)


@pytest.fixture
def keys():
    return MemoryKeys()


@pytest.fixture
def clock():
    return MovableClock()


@pytest.fixture
def store_dir(tmp_path):
    return tmp_path / "store"


@pytest.fixture
def core(store_dir, keys, clock):
    core = lgt_ffi.FieldCore.create(config(store_dir), keys, clock)
    yield core
    core.close_store()


# The watchlist's server side is not in the phone's API: the tests build signed lists with the
# `lgt` binary (`lgt watchlist keygen|build`), as the server would.
REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
LGT = os.environ.get("LGT_BIN", os.path.join(REPO, "target", "debug", "lgt"))
LIST_HEADER = "entry_ref,name,sex,birth_date,id_numbers,case_summary,instructions\n"
LISTED_NUMBER = id_number(birth="19820927", sequence=51)
LISTED_NAME = "曾国强"
LISTED_ENTRIES = (
    f"CASE-1,{LISTED_NAME},1,,{LISTED_NUMBER},synthetic case,do not confront; call the duty officer\n"
    "CASE-2,单晓东,1,1981-02-02,,synthetic case,\n"
)


class ListServer:
    """A list publisher in a directory: root and signer keys, the list state, packages, all
    made at `at` (the tests' fixed clock unless given)."""

    def __init__(self, directory, at=START):
        self.dir = directory
        self.at = at
        self.lgt("watchlist", "keygen", "--dir", str(directory / "keys"))
        with open(directory / "keys" / "root.pub", encoding="ascii") as f:
            self.root = bytes.fromhex(f.read().strip())

    def lgt(self, *args):
        if not os.path.exists(LGT):
            pytest.fail(f"{LGT} is missing: run bindings/generate.sh (it builds lgt)")
        now = self.at.isoformat().replace("+00:00", "Z")
        run = subprocess.run(
            [LGT, "--json", "--now", now, *args], capture_output=True, text=True, check=False
        )
        assert run.returncode == 0, run.stderr
        return run.stdout

    def build(self, version, entries, delta=False):
        """A signed package (bytes) of `entries` (CSV rows): a snapshot, or a delta adding
        them to the previous version built here."""
        csv = self.dir / f"v{version}.csv"
        csv.write_text(LIST_HEADER + entries, encoding="utf-8")
        out = self.dir / f"v{version}.lgtwl"
        args = ["watchlist", "build", "--csv", str(csv), "--keys", str(self.dir / "keys")]
        args += ["--state", str(self.dir / "state.bin"), "--out", str(out)]
        args += ["--version", str(version), "--valid-days", "7"]
        self.lgt(*args, *(["--delta"] if delta else []))
        return out.read_bytes()


@pytest.fixture(scope="session")
def lists(tmp_path_factory):
    """Version 1 (two entries) and version 2 (a delta adding a third) of a signed list, the
    pinned root, and version 1 of a list from an unknown root."""
    server = ListServer(tmp_path_factory.mktemp("list-server"))
    v1 = server.build(1, LISTED_ENTRIES)
    v2 = server.build(2, "CASE-3,测试丙,2,1990-01-01,,synthetic case,\n", delta=True)
    stranger = ListServer(tmp_path_factory.mktemp("unknown-server")).build(1, LISTED_ENTRIES)
    return types.SimpleNamespace(root=server.root, v1=v1, v2=v2, unknown_root=stranger)


@pytest.fixture(scope="session")
def live_lists(tmp_path_factory):
    """Version 1 of a signed list made now, for a phone on the system clock, and its root."""
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    server = ListServer(tmp_path_factory.mktemp("live-list-server"), at=now)
    return types.SimpleNamespace(root=server.root, v1=server.build(1, LISTED_ENTRIES))


class CollectAlerts(lgt_ffi.AlertListener):
    """An alert listener that keeps what it is handed."""

    def __init__(self):
        self.alerts = []

    def on_alert(self, alert):
        self.alerts.append(alert)


LGT_SERVER = os.environ.get("LGT_SERVER_BIN", os.path.join(REPO, "target", "debug", "lgt-server"))


class SyncServer:
    """The real `lgt-server` on a loopback port over HTTPS (its self-signed key, which the
    phones pin), SQLite in a temporary data directory."""

    def __init__(self, data):
        if not os.path.exists(LGT_SERVER):
            pytest.fail(f"{LGT_SERVER} is missing: run bindings/generate.sh (it builds lgt-server)")
        self.data = data
        # The server refuses a data directory others may read (it holds keys and personal data).
        os.chmod(data, 0o700)
        self.log = data / "server.log"
        with open(self.log, "w", encoding="utf-8") as log:
            self.process = subprocess.Popen(
                [LGT_SERVER, "--data", str(data), "serve", "--listen", "127.0.0.1:0"],
                stdout=subprocess.DEVNULL, stderr=log,
            )
        listening = self._listening()
        self.url = f"https://{listening['addr']}"
        self.pin = listening["tls_pin"]

    def _listening(self):
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with open(self.log, encoding="utf-8") as log:
                for line in log:
                    fields = json.loads(line).get("fields", {})
                    if fields.get("message") == "listening":
                        return fields
            if self.process.poll() is not None:
                pytest.fail(f"lgt-server exited: {self.log.read_text()}")
            time.sleep(0.05)
        pytest.fail("lgt-server did not start listening")

    def admin(self, *args):
        """A supervisor command against the server's database; its JSON output."""
        run = subprocess.run(
            [LGT_SERVER, "--data", str(self.data), *args], capture_output=True, text=True, check=False
        )
        assert run.returncode == 0, run.stderr
        return json.loads(run.stdout) if run.stdout.strip() else None

    def enrollment_code(self, coordinator="tester-1", district="110105"):
        issued = self.admin("enrollment-code", "--coordinator", coordinator, "--district", district)
        # The supervisor hands out the server's pin with the code.
        assert issued["server_pin"] == self.pin
        return issued["code"]

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=30)


@pytest.fixture
def sync_server(tmp_path):
    data = tmp_path / "server"
    data.mkdir()
    server = SyncServer(data)
    yield server
    server.stop()
