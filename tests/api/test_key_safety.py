"""No evidence command prints a private key: not when one is given where a verifier
key belongs, nor in any error about a value that could be one."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.cli import main
from evidence.keys import load_key_file
from tests.api.bundles import NUMBER


def key_material(key_file: Path) -> list[str]:
    """The private key string and every recognisable part of it."""
    skey = key_file.read_text().strip()
    secret = skey.rsplit("+", 1)[1]  # base64(type || seed)
    return [
        skey,
        "PRIVATE+KEY",
        skey.removeprefix("PRIVATE+KEY+"),
        *(secret[i : i + 8] for i in range(len(secret) - 7)),
    ]


def assert_nothing_of(key_file: Path, printed: str) -> None:
    leaked = [part for part in key_material(key_file) if part in printed]
    assert not leaked, f"key material printed: {leaked}"


def test_a_private_key_given_for_a_verifier_key_is_refused_unprinted(
    case_file: Path,
    log_key: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    witness_key = tmp_path / "witness.key"
    witness = ["--name", "inspectorate.example/witness", "--file", str(witness_key)]
    assert main(["keys", "init", "--witness", *witness]) == 0
    capsys.readouterr()
    skey = log_key.read_text().strip()
    given = {
        "the signing key file": str(log_key),
        "the private key string": skey,
        "the private key without its prefix": skey.removeprefix("PRIVATE+KEY+"),
    }
    vkey = load_key_file(log_key).vkey()
    for what, key in given.items():
        commands = {
            "verify-bundle": ["verify-bundle", str(case_file), "--key", key],
            "verify": ["verify", "--key", key],
            "export": ["export", NUMBER, "-o", str(tmp_path / "x.json"), "--key", key],
        }
        for command, argv in commands.items():
            status = main(argv)
            out, err = capsys.readouterr()
            assert status == 1, (command, what)
            assert f"ledger {command}: --key" in err, (command, what)
            assert "private key, not a verifier key" in err, (command, what)
            assert "ledger keys show --file" in err, (command, what)
            assert_nothing_of(log_key, out + err)
    assert not (tmp_path / "x.json").exists()
    # A witness's private key where its verifier key belongs, likewise.
    check = ["verify-bundle", str(case_file), "--key", vkey, "--witness"]
    assert main([*check, str(witness_key)]) == 1
    err = capsys.readouterr().err
    assert "--witness: the file" in err and "holds a private key" in err
    assert_nothing_of(witness_key, err)


def test_a_stray_private_key_is_not_repeated_by_the_argument_parser(
    log_key: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    skey = log_key.read_text().strip()
    for argv in (["verify", skey], ["keys", "show", skey]):
        with pytest.raises(SystemExit) as stopped:
            main(argv)
        assert stopped.value.code == 2
        out, err = capsys.readouterr()
        assert "unrecognized arguments: [a private key, withheld]" in err
        assert_nothing_of(log_key, out + err)


def test_no_error_repeats_a_value_that_could_be_key_material(
    log_key: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)  # where a key given as a file name would land
    skey = log_key.read_text().strip()
    secret = skey.rsplit("+", 1)[1]
    damaged = tmp_path / "damaged.key"
    damaged.write_text(skey[:-6] + "!!!!!!\n")  # no longer valid base64
    damaged.chmod(0o600)
    attempts = [
        ["verify-bundle", str(tmp_path / "case.json"), "--key", secret],
        ["verify-bundle", str(tmp_path / "case.json"), "--key", f"x+{secret}"],
        ["verify-bundle", skey, "--key", load_key_file(log_key).vkey()],
        ["export", secret, "-o", str(tmp_path / "x.json")],
        ["keys", "show", "--file", str(damaged)],
        ["keys", "show", "--file", skey],
        ["keys", "init", "--witness", "--name", "w.example/w", "--file", skey],
        ["keys", "init", "--name", skey, "--file", str(tmp_path / "new.key")],
    ]
    for argv in attempts:
        assert main(argv) == 1, argv
        out, err = capsys.readouterr()
        assert err.startswith("ledger ") and "Traceback" not in err, argv
        assert_nothing_of(log_key, out + err)
    assert not (tmp_path / "new.key").exists()
    assert not any(p.name.startswith("PRIVATE") for p in tmp_path.iterdir())
