"""Checkpoints: C2SP form, issuing and storing them, the schedule, the key commands."""

from __future__ import annotations

import base64
import json
import stat
from pathlib import Path
from typing import Any

import pytest

from api.cli import main
from api.settings import LedgerSettings, SettingsError
from evidence.checkpoint import (
    Checkpoint,
    CheckpointSchedule,
    issue_checkpoint,
    open_checkpoint,
)
from evidence.errors import EvidenceError
from evidence.keys import load_key_file
from evidence.signed_note import parse_vkey
from store.merkle import EMPTY_ROOT
from tests.evidence.helpers import ORIGIN, evidence, filled_log, log_signer, sql
from tests.evidence.test_signed_note import spec_verify

C2SP: dict[str, Any] = json.loads(
    (Path(__file__).parent / "vectors" / "c2sp-examples.json").read_text()
)


def test_checkpoint_body_is_the_three_c2sp_lines() -> None:
    example = C2SP["checkpoint"]
    root = base64.b64decode(example["root_b64"])
    body = Checkpoint(example["origin"], example["size"], root).body()
    assert example["note"].startswith(body + "\n\u2014 ")
    assert Checkpoint.parse(body) == Checkpoint(
        example["origin"], example["size"], root
    )


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("origin\n12\n", "at least 3 lines"),
        ("origin\n012\n" + "A" * 43 + "=\n", "not a decimal"),
        ("origin\n-1\n" + "A" * 43 + "=\n", "not a decimal"),
        ("origin\n1\nnot base64!\n", "not base64"),
        ("origin\n1\nAAAA\n", "3 bytes, not 32"),
        ("\n1\n" + "A" * 43 + "=\n", "origin line is empty"),
        ("origin\n0\n" + "A" * 43 + "=\n", "empty-tree root"),
    ],
)
def test_malformed_checkpoints_are_refused(text: str, why: str) -> None:
    with pytest.raises(EvidenceError, match=why):
        Checkpoint.parse(text)


def test_issued_checkpoints_are_signed_stored_and_verify_independently(
    store_url: str,
) -> None:
    signer = log_signer()
    app, _ = filled_log(store_url, 4)
    store = evidence(app)
    first = issue_checkpoint(store, signer)
    assert first.new
    frontier = app.recorder.frontier()  # type: ignore[attr-defined]
    text = spec_verify(first.stored.note, signer.vkey())  # independent verifier
    assert text == f"{ORIGIN}\n12\n{base64.b64encode(frontier.root()).decode()}\n"
    again = issue_checkpoint(store, signer)
    assert not again.new and again.stored.note == first.stored.note
    filled_log(store_url, 1, prefix="more")
    second = issue_checkpoint(store, signer)
    assert second.new and second.checkpoint.tree_size == 15
    stored = store.checkpoints()
    assert [(c.tree_size, c.note) for c in stored] == [
        (12, first.stored.note),
        (15, second.stored.note),
    ]
    assert open_checkpoint(stored[1].note, signer.verifier()).tree_size == 15


class StaleLatest:
    """An evidence store whose first read of the latest checkpoint is stale: as a
    second signer sees it just before the first one's insert commits."""

    def __init__(self, store: Any, stale: Any) -> None:
        self._store, self._stale = store, [stale]

    def latest_checkpoint(self) -> Any:
        return self._stale.pop() if self._stale else self._store.latest_checkpoint()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def test_two_signers_racing_for_one_tree_size_both_succeed(store_url: str) -> None:
    signer = log_signer()
    app, _ = filled_log(store_url, 2)
    store = evidence(app)
    older = issue_checkpoint(store, signer).stored
    filled_log(store_url, 1, prefix="more")
    winner = issue_checkpoint(store, signer)
    loser = issue_checkpoint(StaleLatest(store, older), signer)  # type: ignore[arg-type]
    assert winner.new and not loser.new
    assert loser.stored.note == winner.stored.note
    assert [c.tree_size for c in store.checkpoints()] == [6, 9]


def test_an_empty_log_gets_the_empty_tree_checkpoint(store_url: str) -> None:
    app, _ = filled_log(store_url, 0)
    issued = issue_checkpoint(evidence(app), log_signer())
    assert (issued.checkpoint.tree_size, issued.checkpoint.root_hash) == (0, EMPTY_ROOT)


def test_a_checkpoint_from_another_origin_is_refused() -> None:
    signer = log_signer()
    from evidence.checkpoint import sign_checkpoint

    note = sign_checkpoint(Checkpoint(ORIGIN, 1, bytes(32)), signer)
    with pytest.raises(EvidenceError, match=r"not the expected 'other\.example/log'"):
        open_checkpoint(note, signer.verifier(), origin="other.example/log")


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_schedule_issues_every_n_events() -> None:
    clock = FakeClock()
    schedule = CheckpointSchedule(every_events=100, every_seconds=60, clock=clock)
    assert [p for p in range(1, 351) if schedule.due(p)] == [100, 200, 300]


def test_schedule_issues_after_t_seconds_only_if_the_log_grew() -> None:
    clock = FakeClock()
    schedule = CheckpointSchedule(every_events=100, every_seconds=60, clock=clock)
    assert not schedule.due(5)
    clock.now += 59
    assert not schedule.due(6)
    clock.now += 1
    assert schedule.due(7)
    clock.now += 600
    assert not schedule.due(7)  # nothing new to sign
    assert schedule.due(8)


def test_schedule_reads_its_settings_from_the_environment() -> None:
    settings = LedgerSettings.from_environment(
        {
            "LEDGER_CHECKPOINT_EVERY_EVENTS": "3",
            "LEDGER_CHECKPOINT_EVERY_SECONDS": "2.5",
        }
    )
    schedule = CheckpointSchedule(
        settings.checkpoint_every_events, settings.checkpoint_every_seconds, FakeClock()
    )
    assert (schedule.every_events, schedule.every_seconds) == (3, 2.5)
    assert [p for p in range(1, 10) if schedule.due(p)] == [3, 6, 9]
    with pytest.raises(SettingsError, match="LEDGER_CHECKPOINT_EVERY_EVENTS"):
        LedgerSettings.from_environment({"LEDGER_CHECKPOINT_EVERY_EVENTS": "0"})


# -- the key and checkpoint commands -------------------------------------------


def test_keys_init_creates_a_private_key_file_and_prints_the_vkey(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    key_file = tmp_path / "keys" / "log.key"
    monkeypatch.setenv("LEDGER_SIGNING_KEY_FILE", str(key_file))
    monkeypatch.setenv("LEDGER_LOG_ORIGIN", "prisons.example/ledger")
    assert main(["keys", "init"]) == 0
    vkey = capsys.readouterr().out.strip()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert vkey.startswith("prisons.example/ledger+")
    assert parse_vkey(vkey) == load_key_file(key_file).verifier()
    assert main(["keys", "show"]) == 0
    assert capsys.readouterr().out.strip() == vkey
    # Never overwritten by accident.
    assert main(["keys", "init"]) == 1
    err = capsys.readouterr().err
    assert "already exists; refusing to overwrite" in err
    assert main(["keys", "init", "--force", "--name", "other.example/x"]) == 0
    assert capsys.readouterr().out.startswith("other.example/x+")


def test_a_key_file_others_can_read_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    key_file = tmp_path / "log.key"
    monkeypatch.setenv("LEDGER_SIGNING_KEY_FILE", str(key_file))
    assert main(["keys", "init"]) == 0
    key_file.chmod(0o644)
    assert main(["keys", "show"]) == 1
    assert "readable or writable by others (mode 0644)" in capsys.readouterr().err
    key_file.write_text("not a key\n")
    key_file.chmod(0o600)
    assert main(["keys", "show"]) == 1
    err = capsys.readouterr().err
    assert "does not hold a usable private key" in err and "Traceback" not in err
    key_file.unlink()
    assert main(["checkpoint"]) == 1
    assert "no key file at" in capsys.readouterr().err


def test_checkpoint_command_issues_and_appends(
    store_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("LEDGER_DATABASE_URL", store_url)
    monkeypatch.setenv("LEDGER_SIGNING_KEY_FILE", str(tmp_path / "log.key"))
    assert main(["keys", "init"]) == 0
    vkey = capsys.readouterr().out.strip()
    filled_log(store_url, 2)
    assert main(["checkpoint"]) == 0
    note = capsys.readouterr().out
    assert spec_verify(note, vkey).startswith("journey-ledger.example/log\n6\n")
    assert main(["checkpoint"]) == 0
    repeated = capsys.readouterr()
    assert repeated.out == note and "has not grown" in repeated.err
    assert sql(store_url, "SELECT tree_size FROM checkpoints") == [(6,)]
