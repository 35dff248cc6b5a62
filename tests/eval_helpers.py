"""A byte-level tokenizer and tiny random models that use it, saved as local Hugging Face folders."""

from __future__ import annotations

from pathlib import Path

import torch
import transformers
from tokenizers import Tokenizer, decoders, models, pre_tokenizers

from tiny_models import CONFIGS

TEXT = ("Now is the winter of our discontent made glorious summer by this sun of York; and all the clouds that "
        "lour'd upon our house in the deep bosom of the ocean buried. ") * 8
EOS = "<eos>"
VOCAB = 260  # 256 bytes, <eos>, and room


def byte_tokenizer() -> transformers.PreTrainedTokenizerFast:
    """Every byte is one token (ids 0..255, in the order of the byte-level alphabet), <eos> is 256 and pads."""
    alphabet = pre_tokenizers.ByteLevel.alphabet()
    vocab = {symbol: index for index, symbol in enumerate(sorted(alphabet))}
    vocab[EOS] = 256
    core = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    core.decoder = decoders.ByteLevel()
    return transformers.PreTrainedTokenizerFast(tokenizer_object=core, eos_token=EOS, pad_token=EOS)


def tiny_lm(family: str = "llama", seed: int = 0) -> transformers.PreTrainedModel:
    config = CONFIGS[family]()
    config.vocab_size = VOCAB
    config.pad_token_id = config.eos_token_id = 256
    torch.manual_seed(seed)
    model = transformers.AutoModelForCausalLM.from_config(config)
    return model.eval()


def tiny_encoder(seed: int = 0) -> transformers.PreTrainedModel:
    config = CONFIGS["bert"]()
    config.vocab_size = VOCAB
    config.pad_token_id = 256
    torch.manual_seed(seed)
    return transformers.BertModel(config).eval()


def save_folder(model: transformers.PreTrainedModel, path: Path) -> Path:
    model.save_pretrained(path)
    byte_tokenizer().save_pretrained(path)
    return path
