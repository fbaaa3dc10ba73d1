#!/usr/bin/env python3
"""Write aiOS's tiny test model: a llama-architecture GGUF with the GPT-2 vocabulary whose
greedy output is one fixed sentence, made with llama.cpp's own gguf-py from the same tree.

Every layer adds (almost) nothing to the residual stream, so the next token depends only on
the current one: a token outside the sentence leads to its first token, each sentence token
to the next, and the last to end-of-text. The weights are seeded noise plus that arrangement,
so the same arguments always give the same bytes.
"""
import argparse
import json
import sys

import numpy as np


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--gguf-py", required=True, help="gguf-py directory of the llama.cpp tree")
    ap.add_argument("--vocab", required=True, help="models/ggml-vocab-gpt-2.gguf of the same tree")
    ap.add_argument("--out", required=True)
    ap.add_argument("--tokens", required=True, help="JSON list of vocabulary entries forming the sentence")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--embd", type=int, default=16)
    a = ap.parse_args()
    sys.path.insert(0, a.gguf_py)
    import gguf  # noqa: E402

    vocab = gguf.GGUFReader(a.vocab)
    fields = {k: f for k, f in vocab.fields.items()}
    tokens = fields["tokenizer.ggml.tokens"].contents()
    index = {t: i for i, t in enumerate(tokens)}
    sentence = json.loads(a.tokens)
    unknown = [t for t in sentence if t not in index]
    if unknown:
        print(f"not in the vocabulary: {unknown}", file=sys.stderr)
        return 2
    ids = [index[t] for t in sentence]
    if len(set(ids)) != len(ids):
        print("sentence tokens must be distinct", file=sys.stderr)
        return 2
    eos = int(fields["tokenizer.ggml.eos_token_id"].contents())
    n_vocab, d = len(tokens), a.embd
    if len(ids) + 1 > d:
        print(f"a sentence of {len(ids)} tokens needs --embd of at least {len(ids) + 1}", file=sys.stderr)
        return 2

    rng = np.random.default_rng(a.seed)
    noise = lambda *shape, s=0.01: (rng.standard_normal(shape) * s).astype(np.float32)  # noqa: E731
    # Input side: dimension 0 means "not in the sentence", dimension k+1 means sentence token k.
    embd = noise(n_vocab, d)
    embd[:, 0] += 1.0
    for k, t in enumerate(ids):
        embd[t] = noise(d)
        embd[t, k + 1] = 1.0
    # Output side: each dimension votes for the token that follows.
    out = noise(n_vocab, d)
    big = 10.0
    out[ids[0], 0] = big
    for k in range(1, len(ids)):
        out[ids[k], k] = big
    out[eos, len(ids)] = big

    w = gguf.GGUFWriter(a.out, "llama")
    w.add_name("aios-tiny")
    w.add_description("aiOS test model: greedy decoding answers " + json.dumps("".join(sentence).replace("\u0120", " ")))
    w.add_context_length(256)
    w.add_embedding_length(d)
    w.add_block_count(1)
    w.add_feed_forward_length(d)
    w.add_rope_dimension_count(d)
    w.add_head_count(1)
    w.add_head_count_kv(1)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
    w.add_tokenizer_model(fields["tokenizer.ggml.model"].contents())
    w.add_tokenizer_pre(fields["tokenizer.ggml.pre"].contents())
    w.add_token_list(tokens)
    w.add_token_types(fields["tokenizer.ggml.token_type"].contents())
    w.add_token_merges(fields["tokenizer.ggml.merges"].contents())
    w.add_bos_token_id(int(fields["tokenizer.ggml.bos_token_id"].contents()))
    w.add_eos_token_id(eos)
    # BOS first, so that even an empty prompt has a last token (end-of-text) that leads into the sentence.
    w.add_add_bos_token(True)

    f16 = lambda x: x.astype(np.float16)  # noqa: E731
    ones = np.ones(d, dtype=np.float32)
    w.add_tensor("token_embd.weight", f16(embd))
    w.add_tensor("output_norm.weight", ones)
    w.add_tensor("output.weight", f16(out))
    small = lambda: f16(noise(d, d, s=1e-4))  # noqa: E731
    w.add_tensor("blk.0.attn_norm.weight", ones.copy())
    for name in ("attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"):
        w.add_tensor(f"blk.0.{name}.weight", small())
    w.add_tensor("blk.0.ffn_norm.weight", ones.copy())
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
