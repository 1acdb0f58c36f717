"""Case bundles: built on both stores, verified offline, and altered ones refused."""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import StoredEvent

from api.cli import main
from domain.identifiers import case_id
from evidence.bundle import (
    FORMAT,
    Decoder,
    UnreadableState,
    build_bundle,
    mapper_decoder,
    parse_tlog_proof,
    verify_bundle,
)
from evidence.checkpoint import issue_checkpoint
from evidence.errors import EvidenceError
from evidence.proofs import verify_inclusion
from evidence.signed_note import Ed25519Signer
from store.config import environment_for
from store.seal import event_leaf_hash
from tests.evidence.helpers import ORIGIN, evidence, filled_log, log_signer
from tests.store.notes import Note, Notes


def note_bundle(url: str) -> tuple[dict[str, Any], Ed25519Signer, Note]:
    app, notes = filled_log(url, 9, amendments=3)  # 36 events
    signer = log_signer()
    issue_checkpoint(evidence(app), signer)
    note = notes[4]
    bundle = build_bundle(
        evidence(app),
        str(note.id),
        verifier_key=signer.vkey(),
        decode=mapper_decoder(app.mapper),
    )
    return json.loads(json.dumps(bundle)), signer, note


def offline_decoder() -> Decoder:
    """The notes' mapper, without a database, as a verifier has it."""
    return mapper_decoder(
        Notes(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}).mapper
    )


def test_bundle_holds_the_events_as_stored_decoded_and_proved(store_url: str) -> None:
    bundle, signer, note = note_bundle(store_url)
    assert bundle["format"] == FORMAT
    assert bundle["log"]["verifier_key"] == signer.vkey()
    assert bundle["checkpoint"]["tree_size"] == 36
    events = bundle["events"]
    assert [e["position"] for e in events] == [17, 18, 19, 20]
    assert [e["originator_version"] for e in events] == [1, 2, 3, 4]
    assert events[0]["decoded"]["name"] == "note-4"
    assert events[3]["decoded"]["text"] == "amendment 2 of 4"
    first = events[0]
    state = base64.b64decode(first["state"])
    leaf = event_leaf_hash(str(note.id), 1, first["topic"], state)
    assert base64.b64decode(first["leaf_hash"]) == leaf
    # The proof is C2SP tlog-proof text that carries the checkpoint verbatim.
    assert first["proof"].startswith("c2sp.org/tlog-proof@v1\nindex 16\n")
    _, index, proof, note_text = parse_tlog_proof(first["proof"])
    assert note_text == bundle["checkpoint"]["note"]
    root = base64.b64decode(bundle["checkpoint"]["root_hash"])
    verify_inclusion(index, 36, leaf, proof, root)
    assert verify_bundle(bundle, signer.verifier(), decode=offline_decoder()) == (
        f"OK: originator {note.id}, 4 events (versions 1-4), each included in the "
        f"checkpoint at tree size 36 signed by {ORIGIN}; the readable view of "
        "every event matches the proved state"
    )
    # Without a decoder nothing says the readable view is right, and the line says so.
    assert verify_bundle(bundle, signer.verifier()).endswith(
        "; the readable views (decoded) were not checked"
    )


def test_an_edited_readable_view_fails_naming_the_event_and_field(
    store_url: str,
) -> None:
    bundle, signer, _ = note_bundle(store_url)
    decode = offline_decoder()
    edits: list[tuple[str, Any, str]] = [
        ("text", "amendment 9 of 4", "field 'text': the bundle shows \"amendment 9"),
        ("invented", "D", "field 'invented': the bundle shows \"D\""),
    ]
    for field, value, shown in edits:
        edited = copy.deepcopy(bundle)
        edited["events"][2]["decoded"][field] = value
        with pytest.raises(EvidenceError) as failed:
            verify_bundle(edited, signer.verifier(), decode=decode)
        message = str(failed.value)
        assert message.startswith("event 3 (position 19, version 3): the readable")
        assert shown in message
    removed = copy.deepcopy(bundle)
    del removed["events"][0]["decoded"]["name"]
    with pytest.raises(EvidenceError, match=r"event 1 .* field 'name'.*no such field"):
        verify_bundle(removed, signer.verifier(), decode=decode)
    # A view left out claims nothing, and the OK line says which events have none.
    dropped = copy.deepcopy(bundle)
    dropped["events"][1]["decoded"] = None
    assert verify_bundle(dropped, signer.verifier(), decode=decode).endswith(
        "; the readable view of events 1, 3-4 matches the proved state; "
        "event 2 has no readable view"
    )


def test_a_view_the_decoder_cannot_recompute_is_said_to_be_unchecked(
    sqlite_url: str,
) -> None:
    bundle, signer, _ = note_bundle(sqlite_url)

    def locked(originator_id: str, version: int, topic: str, state: bytes) -> Any:
        raise UnreadableState("the state is encrypted and no cipher key was given")

    assert verify_bundle(bundle, signer.verifier(), decode=locked).endswith(
        "; the readable view of every event was not checked: the state is "
        "encrypted and no cipher key was given"
    )


def test_an_altered_event_fails_verification(store_url: str) -> None:
    bundle, signer, _ = note_bundle(store_url)
    altered = copy.deepcopy(bundle)
    state = bytearray(base64.b64decode(altered["events"][2]["state"]))
    state[5] ^= 0x20
    altered["events"][2]["state"] = base64.b64encode(bytes(state)).decode()
    with pytest.raises(EvidenceError, match=r"event 3 \(position 19, version 3\)"):
        verify_bundle(altered, signer.verifier())
    # Altering the state and its stated leaf hash together: the proof gives it away.
    leaf = event_leaf_hash(
        altered["originator_id"], 3, altered["events"][2]["topic"], bytes(state)
    )
    altered["events"][2]["leaf_hash"] = base64.b64encode(leaf).decode()
    with pytest.raises(EvidenceError, match="not proved to be in the checkpoint"):
        verify_bundle(altered, signer.verifier())


def test_a_dropped_event_a_wrong_key_and_a_forged_checkpoint_fail(
    store_url: str,
) -> None:
    bundle, signer, _ = note_bundle(store_url)
    dropped = copy.deepcopy(bundle)
    del dropped["events"][1]
    with pytest.raises(EvidenceError, match="expected version 2"):
        verify_bundle(dropped, signer.verifier())
    with pytest.raises(EvidenceError, match="no signature from a trusted key"):
        verify_bundle(bundle, Ed25519Signer.generate(ORIGIN).verifier())
    forged = copy.deepcopy(bundle)
    forged["checkpoint"]["note"] = forged["checkpoint"]["note"].replace(
        "\n36\n", "\n37\n"
    )
    with pytest.raises(EvidenceError, match="does not verify"):
        verify_bundle(forged, signer.verifier())


def test_events_newer_than_the_checkpoint_are_not_exported_unproved(
    sqlite_url: str,
) -> None:
    app, notes = filled_log(sqlite_url, 2)
    store = evidence(app)
    issue_checkpoint(store, log_signer())
    notes[0].amend("late")
    app.save(notes[0])
    with pytest.raises(EvidenceError, match="issue a checkpoint, then export"):
        build_bundle(store, str(notes[0].id), verifier_key="x")


# -- the CLI, with a prisoner-number style id ------------------------------------------


class Person(Aggregate):
    """A tiny stand-in for the domain's Case: its id derives from a prisoner number."""

    @staticmethod
    def create_id(prisoner_number: str) -> UUID:
        return case_id(prisoner_number)

    @event("Received")
    def __init__(self, prisoner_number: str, prison: str) -> None:
        self.prisoner_number = prisoner_number
        self.prison = prison

    @event("Transferred")
    def transfer(self, prison: str) -> None:
        self.prison = prison


@pytest.fixture
def cli_store(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[str, str]:
    """A store holding A1234BC's case, a signing key, and the verifier key."""
    monkeypatch.setenv("LEDGER_DATABASE_URL", store_url)
    monkeypatch.setenv("LEDGER_SIGNING_KEY_FILE", str(tmp_path / "log.key"))
    monkeypatch.delenv("LEDGER_LOG_ORIGIN", raising=False)
    assert main(["keys", "init"]) == 0
    app: Application[UUID] = Application(env=environment_for(store_url))
    filled_log(store_url, 3)  # other events before and after
    person = Person("A1234BC", prison="LEI")
    person.transfer("MDI")
    app.save(person)
    # An event whose class no longer exists: exported as stored, not decoded.
    app.recorder.insert_events(
        [StoredEvent(person.id, 3, "gone.module:Person.Vanished", b'{"x":1}')]
    )
    filled_log(store_url, 2, prefix="after")
    return store_url, str(tmp_path)


def test_export_and_verify_bundle_from_the_command_line(
    cli_store: tuple[str, str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, tmp = cli_store
    assert main(["keys", "show"]) == 0
    vkey = capsys.readouterr().out.strip()
    case_file = Path(tmp) / "case.json"
    assert main(["export", "A1234BC", "-o", str(case_file)]) == 0
    out = capsys.readouterr().out
    assert "3 events of A1234BC" in out and "tree size 18" in out
    bundle = json.loads(case_file.read_text())
    assert bundle["subject"] == {"prisoner_number": "A1234BC"}
    assert bundle["originator_id"] == str(case_id("A1234BC"))
    decoded = [e["decoded"] for e in bundle["events"]]
    assert decoded[0]["prisoner_number"] == "A1234BC"
    assert decoded[1]["prison"] == "MDI"
    assert decoded[2] is None
    assert "gone.module" in bundle["events"][2]["decode_error"]
    # Offline: no database (a URL that cannot work), the key as a string or a file.
    monkeypatch.setenv("LEDGER_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    key_file = Path(tmp) / "log.vkey"
    key_file.write_text(vkey + "\n")
    for key in (vkey, str(key_file)):
        assert main(["verify-bundle", str(case_file), "--key", key]) == 0
        out = capsys.readouterr().out
        assert out.startswith("ledger verify-bundle: OK: A1234BC, 3 events")
        assert out.endswith(
            "; the readable view of events 1-2 matches the proved state; "
            "event 3 has no readable view\n"
        )
    state = base64.b64decode(bundle["events"][1]["state"])
    bundle["events"][1]["state"] = base64.b64encode(state.replace(b"MDI", b"LEI"))
    bundle["events"][1]["state"] = bundle["events"][1]["state"].decode()
    case_file.write_text(json.dumps(bundle))
    assert main(["verify-bundle", str(case_file), "--key", vkey]) == 1
    err = capsys.readouterr().err
    assert "event 2 (position 11, version 2)" in err
    assert "the event was altered" in err and "Traceback" not in err


def test_export_of_an_unknown_or_malformed_prisoner_number_fails_clearly(
    cli_store: tuple[str, str], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    capsys.readouterr()
    assert main(["export", "Z9999ZZ", "-o", str(tmp_path / "x.json")]) == 1
    assert "no events recorded for prisoner number Z9999ZZ" in capsys.readouterr().err
    assert main(["export", "12345", "-o", str(tmp_path / "x.json")]) == 1
    assert "is not a prisoner number" in capsys.readouterr().err
    assert not (tmp_path / "x.json").exists()


def test_bundles_carry_and_check_witness_cosignatures(
    cli_store: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    url, tmp = cli_store
    assert main(["keys", "show"]) == 0
    log_vkey = capsys.readouterr().out.strip()
    witness_keys = {}
    for name in ("inspectorate.example/witness", "other.example/witness"):
        key_file = Path(tmp) / f"{name.split('.')[0]}.key"
        init = ["keys", "init", "--witness", "--name", name, "--file", str(key_file)]
        assert main(init) == 0
        witness_keys[name] = (capsys.readouterr().out.strip(), key_file)
    inspectorate, key_file = witness_keys["inspectorate.example/witness"]
    assert main(["checkpoint"]) == 0
    state = str(Path(tmp) / "witness.json")
    cosign = ["witness", "--state", state, "--key", log_vkey, "--witness-key"]
    assert main([*cosign, str(key_file)]) == 0
    assert "at tree size 18" in capsys.readouterr().out
    filled_log(url, 2, prefix="later")  # the log grows; the case does not

    case_file = Path(tmp) / "case.json"
    assert main(["export", "A1234BC", "-o", str(case_file)]) == 0
    assert "tree size 18" in capsys.readouterr().out  # the witnessed checkpoint
    assert (
        "\n— inspectorate.example/witness "
        in json.loads(case_file.read_text())["checkpoint"]["note"]
    )
    check = ["verify-bundle", str(case_file), "--key", log_vkey]
    assert main([*check, "--witness", inspectorate]) == 0
    assert "cosigned by inspectorate.example/witness at 20" in capsys.readouterr().out
    refusals = {
        witness_keys["other.example/witness"][0]: "not cosigned by the witness other",
        log_vkey: "not a witness cosigning key",
    }
    for key, reason in refusals.items():
        assert main([*check, "--witness", key]) == 1
        err = capsys.readouterr().err
        assert reason in err and "Traceback" not in err

    # A case event after the witnessed checkpoint: the export proves it against a
    # fresh checkpoint no witness has seen, and says so when a witness is required.
    app: Application[UUID] = Application(env=environment_for(url))
    app.recorder.insert_events(
        [StoredEvent(case_id("A1234BC"), 4, "gone.module:Person.Vanished", b"{}")]
    )
    app.close()
    assert main(["export", "A1234BC", "-o", str(case_file)]) == 0
    assert "tree size 25" in capsys.readouterr().out
    assert main(check) == 0
    assert main([*check, "--witness", inspectorate]) == 1
    assert "not cosigned by the witness inspectorate" in capsys.readouterr().err
