"""The tokenizer at serving time: `tokenizers` alone, no transformers (and so no torch) import."""

from __future__ import annotations

import json
from pathlib import Path

from tokenizers import Tokenizer

from .model_dir import ModelDirectory


class ServingTokenizer:
    """Reads a saved tokenizer directory; callable like a transformers tokenizer for `encode_batch`."""

    def __init__(self, directory: str | Path) -> None:
        files = ModelDirectory(directory)
        self.backend = Tokenizer.from_file(str(files.tokenizer))
        self.backend.no_truncation()
        self.backend.no_padding()
        config = json.loads(files.tokenizer_config.read_text(encoding="utf-8"))

        def token_id(name: str) -> int:
            token = config.get(name)
            if isinstance(token, dict):
                token = token.get("content")
            token_id = self.backend.token_to_id(token) if token else None
            if token_id is None:
                raise ValueError(f"{directory}: tokenizer has no {name} ({token!r})")
            return token_id

        self.cls_token_id = token_id("cls_token")
        self.sep_token_id = token_id("sep_token")
        self.pad_token_id = token_id("pad_token")

    def __call__(self, texts: list[str], add_special_tokens: bool = False, verbose: bool = False) -> dict:
        encodings = self.backend.encode_batch(texts, add_special_tokens=add_special_tokens)
        return {"input_ids": [e.ids for e in encodings]}
