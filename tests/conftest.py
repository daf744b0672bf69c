"""Shared fixtures: tiny randomly initialised models built at test time."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=test"


def build_tiny_bert(out_dir: Path) -> Path:
    """A 2-layer BERT with bert-base-chinese's WordPiece vocabulary (shipped by `fastbert`)."""
    import fastbert
    from tokenizers import Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import WordPiece
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    vocab_file = Path(fastbert.__file__).parent / "files" / "google_zh_vocab.txt"
    vocab = {line.rstrip("\n"): i for i, line in enumerate(vocab_file.read_text(encoding="utf-8").splitlines())}
    backend = Tokenizer(WordPiece(vocab, unk_token="[UNK]"))
    backend.normalizer = normalizers.BertNormalizer(lowercase=True, handle_chinese_chars=True)
    backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    backend.decoder = decoders.WordPiece()
    backend.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])],
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
        sep_token="[SEP]", mask_token="[MASK]", model_max_length=512,
    )
    config = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=512)
    import torch

    torch.manual_seed(0)
    BertModel(config, add_pooling_layer=False).save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    return out_dir


@pytest.fixture(scope="session")
def tiny_bert_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_bert(tmp_path_factory.mktemp("tiny-bert"))


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Every test gets its own data home, so nothing leaks into the user's cache."""
    from petition_triage.config import get_settings

    monkeypatch.setenv("PETITION_TRIAGE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def tiny_model_dir(tiny_bert_dir, tmp_path_factory) -> Path:
    """A trained-and-exported model directory built on the tiny BERT (a few seconds)."""
    from petition_triage.config import REPO_ROOT
    from petition_triage.training.args import TrainingArguments
    from petition_triage.training.corpus import read_records, write_records
    from petition_triage.training.data import ColumnMapping
    from petition_triage.training.duplicate_fit import fit_duplicate_scorer
    from petition_triage.training.workflow import export_command, train_command

    data = tmp_path_factory.mktemp("service-data")
    source = REPO_ROOT / "data_samples"
    write_records(data / "train.jsonl", read_records(source / "train.jsonl")[:60])
    write_records(data / "dev.jsonl", read_records(source / "dev.jsonl")[:20])
    out = tmp_path_factory.mktemp("service-model") / "tiny"
    args = TrainingArguments(output_dir=str(out), base_model=str(tiny_bert_dir), epochs=1, batch_size=8, max_length=64)
    train_command(args, str(data), ColumnMapping(), None)
    export_command(out, None, ColumnMapping(), int8=False)
    fit_duplicate_scorer(out, duplicate_sample(tmp_path_factory.mktemp("duplicate-data")))
    return out


def duplicate_sample(out: Path) -> Path:
    """Small train/dev/test files that keep whole duplicate groups and related pairs, for fitting a scorer."""
    from petition_triage.config import REPO_ROOT
    from petition_triage.training.corpus import read_records, write_records

    for split, n_groups in (("train", 25), ("dev", 10), ("test", 10)):
        records = read_records(REPO_ROOT / "data_samples" / f"{split}.jsonl")
        groups = list(dict.fromkeys(r["duplicate_group"] for r in records if r["duplicate_group"]))[:n_groups]
        chosen = [r for r in records if r["duplicate_group"] in groups]
        ids = {r["id"] for r in chosen}
        linked = {link["id"] for r in chosen for link in r["related"]}
        chosen += [r for r in records if r["id"] in linked - ids][:20]
        chosen += [r for r in records if not r["duplicate_group"] and r["id"] not in linked][:20]
        write_records(out / f"{split}.jsonl", chosen)
        # Whole real-style families, and a few unrelated letters for the hot-issue mix.
        families = read_records(REPO_ROOT / "data_samples" / "duplicates" / f"{split}.jsonl")
        kept = list(dict.fromkeys(r["family"] for r in families))[:8]
        (out / "duplicates").mkdir(exist_ok=True)
        write_records(out / "duplicates" / f"{split}.jsonl", [r for r in families if r["family"] in kept])
    (out / "shift").mkdir(exist_ok=True)
    write_records(out / "shift" / "test.jsonl", read_records(REPO_ROOT / "data_samples" / "shift" / "test.jsonl")[:20])
    return out


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> str:
    """Each storage test runs on SQLite and on PostgreSQL (a throw-away database per test)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'cases.db'}"
        return
    import uuid

    import psycopg

    name = "pt_" + uuid.uuid4().hex[:12]
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def running_service(settings, key_suffix: str = "") -> Iterator:
    """A TestClient on the app, with one key per role in `client.keys` (headers) and `client.app_state`.

    `key_suffix` keeps key names apart when two apps share one database."""
    from fastapi.testclient import TestClient

    from petition_triage.service.api.keys import create_key
    from petition_triage.service.app import create_app

    app = create_app(settings)
    with TestClient(app) as client:
        with app.state.database.sessions() as session:
            keys = {role: create_key(session, f"test-{role}{key_suffix}", role)
                    for role in ("intake", "reviewer", "admin")}
        client.keys = {role: {"Authorization": f"Bearer {key}"} for role, key in keys.items()}
        client.app_state = app.state
        yield client


def hand_scorer(**thresholds):
    """A hand-set scorer: duplicate = same person and same words; related = same words, other person."""
    import numpy as np

    from petition_triage.dedup.scorer import CLASSES, FEATURES, DuplicateScorer

    coef = np.zeros((len(CLASSES), len(FEATURES)))
    dup, rel = CLASSES.index("duplicate"), CLASSES.index("related")
    for name, weight in {"lexical": 6, "contact_same": 6, "name_same": 4, "contact_differs": -8, "name_differs": -6,
                         "person_x_lexical": 4}.items():
        coef[dup, FEATURES.index(name)] = weight
    for name, weight in {"lexical": 10, "contact_same": -6, "name_same": -6}.items():
        coef[rel, FEATURES.index(name)] = weight
    return DuplicateScorer(coef=coef.tolist(), intercept=[0.0, -8.0, -5.0],
                           thresholds={"duplicate": 0.5, "related": 0.5, **thresholds}, idf={}, default_idf=1.0)


@pytest.fixture
def hand_scored_model(tiny_model_dir, tmp_path) -> Path:
    """The tiny model with `hand_scorer`: duplicate-search tests that do not hang on a random encoder."""
    import shutil

    model = tmp_path / "hand-scored"
    shutil.copytree(tiny_model_dir, model)
    hand_scorer().save(model)
    return model


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(env: dict, port: int) -> subprocess.Popen:
    """`petition-triage serve` in its own process with `env`, returned once /readyz answers 200."""
    import httpx

    process = subprocess.Popen([sys.executable, "-m", "petition_triage.cli", "serve", "--port", str(port)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"the service on port {port} did not start")
        time.sleep(0.2)
