"""Tiny random models of every supported family (2 layers, hidden 64), built in-process."""

from __future__ import annotations

import torch
import transformers

VOCAB = 256
COMMON = dict(vocab_size=VOCAB, hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=128,
              max_position_embeddings=256)

CONFIGS = {
    "bert": lambda: transformers.BertConfig(**COMMON, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0),
    "roberta": lambda: transformers.RobertaConfig(**COMMON, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
                                                  pad_token_id=1, bos_token_id=0, eos_token_id=2),
    "gpt2": lambda: transformers.GPT2Config(vocab_size=VOCAB, bos_token_id=0, eos_token_id=0, n_embd=64, n_layer=2, n_head=4, n_inner=128,
                                            n_positions=256, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0),
    "opt": lambda: transformers.OPTConfig(vocab_size=VOCAB, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                                          ffn_dim=128, max_position_embeddings=256, word_embed_proj_dim=64,
                                          dropout=0.0, attention_dropout=0.0, pad_token_id=1),
    "llama": lambda: transformers.LlamaConfig(**COMMON, num_key_value_heads=2),
    "qwen2": lambda: transformers.Qwen2Config(**COMMON, num_key_value_heads=2),
    "mistral": lambda: transformers.MistralConfig(**COMMON, num_key_value_heads=2, sliding_window=32),
}
FAMILIES = tuple(CONFIGS)
DECODERS = ("gpt2", "opt", "llama", "qwen2", "mistral")
HEADS = ("base", "causal-lm", "sequence-classification")

_BASE = {"bert": "BertModel", "roberta": "RobertaModel", "gpt2": "GPT2Model", "opt": "OPTModel",
         "llama": "LlamaModel", "qwen2": "Qwen2Model", "mistral": "MistralModel"}
_PREFIX = {"bert": "Bert", "roberta": "Roberta", "gpt2": "GPT2", "opt": "OPT", "llama": "Llama", "qwen2": "Qwen2",
           "mistral": "Mistral"}


def model_class(family: str, head: str) -> type:
    if head == "base":
        return getattr(transformers, _BASE[family])
    if head == "causal-lm" and family in ("bert", "gpt2"):
        return getattr(transformers, _PREFIX[family] + "LMHeadModel")
    suffix = {"causal-lm": "ForCausalLM", "sequence-classification": "ForSequenceClassification"}[head]
    return getattr(transformers, _PREFIX[family] + suffix)


def tiny_model(family: str, head: str = "causal-lm", seed: int = 0, dtype: torch.dtype = torch.float32) -> torch.nn.Module:
    config = CONFIGS[family]()
    if head == "causal-lm" and family in ("bert", "roberta"):
        config.is_decoder = True
    if head == "sequence-classification":
        config.num_labels = 3
        config.pad_token_id = config.pad_token_id if config.pad_token_id is not None else 0
    torch.manual_seed(seed)
    model = model_class(family, head)(config).to(dtype).eval()
    return model


def token_batches(count: int, batch: int = 4, length: int = 32, seed: int = 1) -> list[dict[str, torch.Tensor]]:
    generator = torch.Generator().manual_seed(seed)
    return [
        {"input_ids": torch.randint(3, VOCAB, (batch, length), generator=generator),
         "attention_mask": torch.ones(batch, length, dtype=torch.long)}
        for _ in range(count)
    ]
