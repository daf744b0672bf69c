from pathlib import Path

import pytest

from petition_triage.config import REPO_ROOT
from petition_triage.model.taxonomy import load_taxonomy, parse_annotation_guide

PROJECT_GUIDE = REPO_ROOT / "docs" / "ANNOTATION_GUIDE.md"
SHARED_GUIDE = REPO_ROOT.parent / "shared" / "docs" / "ANNOTATION_GUIDE.md"


def test_default_taxonomy_equals_the_annotation_guide():
    from_guide = parse_annotation_guide(PROJECT_GUIDE.read_text(encoding="utf-8"))
    assert load_taxonomy().to_dict() == from_guide.to_dict()


def test_default_taxonomy_has_the_guide_label_sets():
    taxonomy = load_taxonomy()
    assert taxonomy.codes("type") == ["demand", "suggestion", "inquiry"]
    assert len(taxonomy.codes("department")) == 19 and taxonomy.codes("department")[-1] == "other"
    assert taxonomy.codes("risk") == ["normal", "elevated", "high"]
    assert "wage_arrears" in taxonomy.reason_codes and len(taxonomy.reason_codes) == 10


@pytest.mark.skipif(not SHARED_GUIDE.exists(), reason="no shared/ checkout beside the project")
def test_project_guide_is_in_sync_with_the_shared_guide():
    assert PROJECT_GUIDE.read_text(encoding="utf-8") == SHARED_GUIDE.read_text(encoding="utf-8")


def test_custom_taxonomy_file_is_validated(tmp_path: Path):
    bad = tmp_path / "t.json"
    bad.write_text('{"types": [{"code": "a"}, {"code": "a"}], "departments": [{"code": "x"}],'
                   ' "risk_levels": [{"code": "normal"}], "risk_reasons": [{"code": "r"}]}', encoding="utf-8")
    with pytest.raises(ValueError, match="duplicate codes in types"):
        load_taxonomy(bad)
