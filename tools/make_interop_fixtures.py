#!/usr/bin/python3
"""Writes tests/fixtures/interop/: one tiny random ERNIE in every directory kind mvtag reads,
the encoder's outputs for a few token sequences, and the original's combined checkpoint files.

An independent reference for the C++ readers and name mappings:
- the Paddle tensor files and combined checkpoints are laid out here byte by byte (LoDTensor
  records with a hand-encoded TensorDesc), with the original's names written out by hand (as
  docs/FORMATS.md lists them) and ordered by Python's sorted();
- the HuggingFace checkpoints are written by torch.save itself (zip and legacy formats), with
  tensors that are views (a transpose, slices with a storage offset) so their strides matter;
- model.safetensors is laid out by hand;
- the ERNIE outputs come from a small numpy implementation of the math (scenario_lib/models/ernie.py: post-LN,
  ReLU, eps 1e-5, an additive -10000 on padded keys, no task embedding), in float64.
Run once by hand and commit the output:

    /usr/bin/python3 tools/make_interop_fixtures.py tests/fixtures/interop
"""
import collections
import io
import json
import os
import pickle
import struct
import sys
import zipfile

import numpy as np
import torch

ERNIE = {
    "attention_probs_dropout_prob": 0.1, "hidden_act": "relu", "hidden_dropout_prob": 0.1,
    "hidden_size": 8, "initializer_range": 0.02, "max_position_embeddings": 12,
    "num_attention_heads": 2, "num_hidden_layers": 2, "type_vocab_size": 2, "vocab_size": 24,
}
INTERMEDIATE = 4 * ERNIE["hidden_size"]  # the original hard-codes 4 x hidden: its config has no key
VOCAB = ["[PAD]", "[CLS]", "[SEP]", "[MASK]", "[UNK]"] + [chr(ord("a") + i) for i in range(19)]

# The whole network of the checkpoint fixtures (our model.json keys).
NET = {"rgb_dim": 6, "audio_dim": 5, "lstm_size_img": 3, "lstm_size_audio": 2, "num_classes": 4,
       "textcnn_filters": 4, "drop_rate": 0.5, "loss_type": "sigmoid", "ernie_freeze": True}

rng = np.random.RandomState(2024)


def randn(*shape, scale=0.5):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


# ---------------------------------------------------------------------------------------------
# The encoder's weights under our names (torch layout: Linear weights are [out, in]).

def ernie_weights():
    d, inner, w = ERNIE["hidden_size"], INTERMEDIATE, collections.OrderedDict()
    w["word"] = randn(ERNIE["vocab_size"], d)
    w["pos"] = randn(ERNIE["max_position_embeddings"], d)
    w["sent"] = randn(ERNIE["type_vocab_size"], d)
    w["ln.w"], w["ln.b"] = 1 + randn(d, scale=0.1), randn(d, scale=0.1)
    for i in range(ERNIE["num_hidden_layers"]):
        for part in ("query", "key", "value", "output"):
            w[f"{i}.{part}.w"], w[f"{i}.{part}.b"] = randn(d, d), randn(d, scale=0.1)
        w[f"{i}.att_ln.w"], w[f"{i}.att_ln.b"] = 1 + randn(d, scale=0.1), randn(d, scale=0.1)
        w[f"{i}.ffn_in.w"], w[f"{i}.ffn_in.b"] = randn(inner, d), randn(inner, scale=0.1)
        w[f"{i}.ffn_out.w"], w[f"{i}.ffn_out.b"] = randn(d, inner), randn(d, scale=0.1)
        w[f"{i}.ffn_ln.w"], w[f"{i}.ffn_ln.b"] = 1 + randn(d, scale=0.1), randn(d, scale=0.1)
    return w


def ernie_paddle_names(w):
    """Paddle name -> array in Paddle layout (fc weights [in, out])."""
    out = {"word_embedding": w["word"], "pos_embedding": w["pos"], "sent_embedding": w["sent"],
           "pre_encoder_layer_norm_scale": w["ln.w"], "pre_encoder_layer_norm_bias": w["ln.b"]}
    for i in range(ERNIE["num_hidden_layers"]):
        p = f"encoder_layer_{i}_"
        for part in ("query", "key", "value", "output"):
            out[f"{p}multi_head_att_{part}_fc.w_0"] = w[f"{i}.{part}.w"].T
            out[f"{p}multi_head_att_{part}_fc.b_0"] = w[f"{i}.{part}.b"]
        out[p + "post_att_layer_norm_scale"], out[p + "post_att_layer_norm_bias"] = w[f"{i}.att_ln.w"], w[f"{i}.att_ln.b"]
        out[p + "ffn_fc_0.w_0"], out[p + "ffn_fc_0.b_0"] = w[f"{i}.ffn_in.w"].T, w[f"{i}.ffn_in.b"]
        out[p + "ffn_fc_1.w_0"], out[p + "ffn_fc_1.b_0"] = w[f"{i}.ffn_out.w"].T, w[f"{i}.ffn_out.b"]
        out[p + "post_ffn_layer_norm_scale"], out[p + "post_ffn_layer_norm_bias"] = w[f"{i}.ffn_ln.w"], w[f"{i}.ffn_ln.b"]
    return out


def ernie_ours_names(w):
    """Our model's name -> array."""
    out = {"ernie.word_embeddings.weight": w["word"], "ernie.position_embeddings.weight": w["pos"],
           "ernie.sentence_embeddings.weight": w["sent"], "ernie.embedding_norm.weight": w["ln.w"],
           "ernie.embedding_norm.bias": w["ln.b"]}
    for i in range(ERNIE["num_hidden_layers"]):
        o = f"ernie.layers.{i}."
        for part in ("query", "key", "value", "output"):
            out[f"{o}attention.{part}.weight"], out[f"{o}attention.{part}.bias"] = w[f"{i}.{part}.w"], w[f"{i}.{part}.b"]
        for ours, mine in (("attention_norm", "att_ln"), ("ffn_in", "ffn_in"), ("ffn_out", "ffn_out"), ("ffn_norm", "ffn_ln")):
            out[f"{o}{ours}.weight"], out[f"{o}{ours}.bias"] = w[f"{i}.{mine}.w"], w[f"{i}.{mine}.b"]
    return out


def ernie_hf_names(w, ln_weight="weight", ln_bias="bias"):
    """transformers' ErnieModel/BertModel name (no prefix) -> array (same layout as ours)."""
    out = {"embeddings.word_embeddings.weight": w["word"], "embeddings.position_embeddings.weight": w["pos"],
           "embeddings.token_type_embeddings.weight": w["sent"],
           f"embeddings.LayerNorm.{ln_weight}": w["ln.w"], f"embeddings.LayerNorm.{ln_bias}": w["ln.b"]}
    for i in range(ERNIE["num_hidden_layers"]):
        h = f"encoder.layer.{i}."
        for part in ("query", "key", "value"):
            out[f"{h}attention.self.{part}.weight"], out[f"{h}attention.self.{part}.bias"] = w[f"{i}.{part}.w"], w[f"{i}.{part}.b"]
        out[h + "attention.output.dense.weight"], out[h + "attention.output.dense.bias"] = w[f"{i}.output.w"], w[f"{i}.output.b"]
        out[f"{h}attention.output.LayerNorm.{ln_weight}"] = w[f"{i}.att_ln.w"]
        out[f"{h}attention.output.LayerNorm.{ln_bias}"] = w[f"{i}.att_ln.b"]
        out[h + "intermediate.dense.weight"], out[h + "intermediate.dense.bias"] = w[f"{i}.ffn_in.w"], w[f"{i}.ffn_in.b"]
        out[h + "output.dense.weight"], out[h + "output.dense.bias"] = w[f"{i}.ffn_out.w"], w[f"{i}.ffn_out.b"]
        out[f"{h}output.LayerNorm.{ln_weight}"], out[f"{h}output.LayerNorm.{ln_bias}"] = w[f"{i}.ffn_ln.w"], w[f"{i}.ffn_ln.b"]
    return out


# ---------------------------------------------------------------------------------------------
# The reference forward pass (float64).

def layer_norm(x, w, b, eps=1e-5):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def ernie_forward(w, ids, lengths):
    w = {k: v.astype(np.float64) for k, v in w.items()}
    batch, length = ids.shape
    d, heads = ERNIE["hidden_size"], ERNIE["num_attention_heads"]
    dh = d // heads
    x = w["word"][ids] + w["pos"][np.arange(length)][None] + w["sent"][0][None, None]
    x = layer_norm(x, w["ln.w"], w["ln.b"])
    key_bias = np.where(np.arange(length)[None, :] < lengths[:, None], 0.0, -10000.0)[:, None, None, :]

    def linear(v, name):
        return v @ w[name + ".w"].T + w[name + ".b"]

    def split(v):
        return v.reshape(batch, length, heads, dh).transpose(0, 2, 1, 3)

    for i in range(ERNIE["num_hidden_layers"]):
        q, k, v = (split(linear(x, f"{i}.{p}")) for p in ("query", "key", "value"))
        scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(dh) + key_bias
        probs = np.exp(scores - scores.max(-1, keepdims=True))
        probs /= probs.sum(-1, keepdims=True)
        ctx = (probs @ v).transpose(0, 2, 1, 3).reshape(batch, length, d)
        x = layer_norm(x + linear(ctx, f"{i}.output"), w[f"{i}.att_ln.w"], w[f"{i}.att_ln.b"])
        f = linear(np.maximum(linear(x, f"{i}.ffn_in"), 0.0), f"{i}.ffn_out")
        x = layer_norm(x + f, w[f"{i}.ffn_ln.w"], w[f"{i}.ffn_ln.b"])
    return x


# ---------------------------------------------------------------------------------------------
# File formats, byte by byte.

def varint(v):
    out = b""
    while v >= 0x80:
        out += bytes([(v & 0x7F) | 0x80])
        v >>= 7
    return out + bytes([v])


def paddle_record(a):
    """One LoDTensor record: versions 0, no LoD, TensorDesc {data_type FP32, dims unpacked}."""
    a = np.ascontiguousarray(a, dtype="<f4")
    desc = b"\x08\x05" + b"".join(b"\x10" + varint(d) for d in a.shape)
    return struct.pack("<IQIi", 0, 0, 0, len(desc)) + desc + a.tobytes()


def safetensors_bytes(tensors):
    header, offset, data = {}, 0, b""
    for name, a in tensors.items():
        raw = np.ascontiguousarray(a, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        data += raw
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def write_json(path, value):
    write(path, (json.dumps(value, indent=2, sort_keys=True) + "\n").encode())


# ---------------------------------------------------------------------------------------------
# HuggingFace-style state dicts whose tensors are views, so storage offsets and strides matter.

def torch_state_dict(hf, prefix):
    sd = collections.OrderedDict()
    names = list(hf)
    # Every bias of the encoder shares one storage, each at its own offset.
    biases = [n for n in names if n.endswith(".bias") or n.endswith(".beta")]
    pool = torch.from_numpy(np.concatenate([hf[n] for n in biases]))
    offsets = np.cumsum([0] + [hf[n].size for n in biases])
    for n in names:
        a = hf[n]
        if n in biases:
            i = biases.index(n)
            t = pool[offsets[i]:offsets[i + 1]]
        elif n.endswith("attention.self.query.weight"):
            t = torch.from_numpy(np.ascontiguousarray(a.T)).t()  # a transposed view: strides (1, rows)
        elif n.endswith("attention.self.key.weight"):
            wide = torch.zeros(a.shape[0], 3 * a.shape[1])  # a column slice: offset and row stride 3·cols
            wide[:, a.shape[1]:2 * a.shape[1]] = torch.from_numpy(a)
            t = wide[:, a.shape[1]:2 * a.shape[1]]
        elif n == "embeddings.position_embeddings.weight":
            tall = torch.zeros(a.shape[0] + 5, a.shape[1])  # rows 3.. of a bigger table: an offset
            tall[3:3 + a.shape[0]] = torch.from_numpy(a)
            t = tall[3:3 + a.shape[0]]
        else:
            t = torch.from_numpy(a.copy())
        sd[prefix + n] = t
    assert not sd[prefix + "encoder.layer.0.attention.self.query.weight"].is_contiguous()
    assert not sd[prefix + "encoder.layer.0.attention.self.key.weight"].is_contiguous()
    assert sd[prefix + "embeddings.position_embeddings.weight"].storage_offset() == 3 * ERNIE["hidden_size"]
    # What a real checkpoint also carries: heads and buffers the encoder does not use.
    d = ERNIE["hidden_size"]
    sd[prefix + "embeddings.position_ids"] = torch.arange(ERNIE["max_position_embeddings"]).unsqueeze(0)
    sd[prefix + "pooler.dense.weight"] = torch.from_numpy(randn(d, d))
    sd[prefix + "pooler.dense.bias"] = torch.from_numpy(randn(d))
    sd["cls.predictions.bias"] = torch.from_numpy(randn(ERNIE["vocab_size"]))
    return sd


def hf_config(model_type):
    c = dict(ERNIE)
    c.update({"intermediate_size": INTERMEDIATE, "layer_norm_eps": 1e-05, "pad_token_id": 0,
              "model_type": model_type, "architectures": ["ErnieForMaskedLM"], "use_task_id": False})
    return c


# ---------------------------------------------------------------------------------------------
# The original's combined checkpoint: names as in docs/FORMATS.md, generalised to L layers (the app's
# fcs start at fc_<6L>), in Python sorted() order.

def checkpoint(w, mode):
    d, f = ERNIE["hidden_size"], NET["textcnn_filters"]
    r, a, hi, ha, c = NET["rgb_dim"], NET["audio_dim"], NET["lstm_size_img"], NET["lstm_size_audio"], NET["num_classes"]
    text = 3 * f
    fused = 2 * hi + 2 * ha + text
    base = 6 * ERNIE["num_hidden_layers"]
    guided = mode == "text_guide"
    ours = ernie_ours_names(w)
    paddle = ernie_paddle_names(w)

    def fc(n):
        return f"fc_{base + n}"

    def linear(paddle_w, paddle_b, name, n_in, n_out):
        ours[name + ".weight"] = randn(n_out, n_in)
        paddle[paddle_w] = ours[name + ".weight"].T
        if paddle_b:
            ours[name + ".bias"] = randn(n_out, scale=0.1)
            paddle[paddle_b] = ours[name + ".bias"]

    def lstm(index, name, h):
        ours[name + ".weight_hh"] = randn(4 * h, h)
        ours[name + ".bias"], ours[name + ".peephole"] = randn(4 * h, scale=0.1), randn(3 * h, scale=0.1)
        paddle[f"lstm_{index}.w_0"] = ours[name + ".weight_hh"].T
        paddle[f"lstm_{index}.b_0"] = np.concatenate([ours[name + ".bias"], ours[name + ".peephole"]])[None, :]

    for i, k in enumerate((2, 3, 4)):
        ours[f"textcnn.conv{k}.weight"] = randn(f, d, k)
        ours[f"textcnn.conv{k}.bias"] = randn(f, scale=0.1)
        # Paddle row j·D + dd, column o = ours[o, dd, j].
        paddle[f"sequence_conv_{i}.w_0"] = ours[f"textcnn.conv{k}.weight"].transpose(2, 1, 0).reshape(k * d, f)
        paddle[f"sequence_conv_{i}.b_0"] = ours[f"textcnn.conv{k}.bias"]

    linear(fc(0) + ".w_0", None, "image.fwd_proj", r, 4 * hi)
    lstm(0, "image.fwd_lstm", hi)
    linear(fc(1) + ".w_0", fc(1) + ".b_0", "image.bwd_proj", r, 4 * hi)
    lstm(1, "image.bwd_lstm", hi)
    audio = 2 if guided else 3
    if guided:
        linear("seq2seq_attention_tanh_fc.w_0", "seq2seq_attention_tanh_fc.b_0", "image.attention.tanh_fc", 2 * hi + text, 2 * hi)
        linear("seq2seq_attention_softmax_fc.w_0", "seq2seq_attention_softmax_fc.b_0", "image.attention.score_fc", 2 * hi, 1)
    else:
        linear(fc(2) + ".w_0", fc(2) + ".b_0", "image.attention.score_fc", 2 * hi, 1)
    linear(fc(audio) + ".w_0", fc(audio) + ".b_0", "audio.fwd_proj", a, 4 * ha)
    lstm(2, "audio.fwd_lstm", ha)
    linear(fc(audio + 1) + ".w_0", None, "audio.bwd_proj", a, 4 * ha)
    lstm(3, "audio.bwd_lstm", ha)
    if guided:
        linear("seq2seq_attention_tanh_fc.w_1", "seq2seq_attention_tanh_fc.b_1", "audio.attention.tanh_fc", 2 * ha + text, 2 * ha)
        linear("seq2seq_attention_softmax_fc.w_1", "seq2seq_attention_softmax_fc.b_1", "audio.attention.score_fc", 2 * ha, 1)
    else:
        linear(fc(audio + 2) + ".w_0", fc(audio + 2) + ".b_0", "audio.attention.score_fc", 2 * ha, 1)
    head = fc(4 if guided else 6)
    linear(head + ".w_0", head + ".b_0", "classifier", fused, c)
    return ours, paddle


def net_json(mode):
    net = dict(NET)
    ernie = dict(ERNIE)
    ernie.update({"intermediate_size": INTERMEDIATE, "layer_norm_eps": 1e-05})
    net.update({"ernie": ernie, "lstm_pool_mode": mode})
    return net


def main(out):
    w = ernie_weights()
    paddle_vocab = "".join(f"{t}\t{i}\n" for i, t in enumerate(VOCAB)).encode()
    hf_vocab = "".join(t + "\n" for t in VOCAB).encode()

    # The original's ERNIE release: one file per parameter, plus parts the tagger does not use.
    pdir = os.path.join(out, "ernie_paddle")
    write_json(os.path.join(pdir, "ernie_config.json"), ERNIE)
    write(os.path.join(pdir, "vocab.txt"), paddle_vocab)
    for name, a in ernie_paddle_names(w).items():
        write(os.path.join(pdir, name), paddle_record(a))
    d = ERNIE["hidden_size"]
    for name, a in (("pooled_fc.w_0", randn(d, d)), ("pooled_fc.b_0", randn(d)), ("mask_lm_out_fc.b_0", randn(24)),
                    ("next_sent_fc.w_0", randn(d, 2))):
        write(os.path.join(pdir, name), paddle_record(a))

    # torch.save, zip format: prefix 'ernie.', LayerNorm as weight/bias.
    zdir = os.path.join(out, "ernie_hf_zip")
    write_json(os.path.join(zdir, "config.json"), hf_config("ernie"))
    write(os.path.join(zdir, "vocab.txt"), hf_vocab)
    torch.save(torch_state_dict(ernie_hf_names(w), "ernie."), os.path.join(zdir, "pytorch_model.bin"))

    # torch.save, legacy format: prefix 'bert.', LayerNorm as gamma/beta (the old conversion scripts).
    ldir = os.path.join(out, "ernie_hf_legacy")
    write_json(os.path.join(ldir, "config.json"), hf_config("bert"))
    write(os.path.join(ldir, "vocab.txt"), hf_vocab)
    torch.save(torch_state_dict(ernie_hf_names(w, "gamma", "beta"), "bert."), os.path.join(ldir, "pytorch_model.bin"),
               _use_new_zipfile_serialization=False)

    # safetensors, no prefix.
    sdir = os.path.join(out, "ernie_hf_safetensors")
    write_json(os.path.join(sdir, "config.json"), hf_config("ernie"))
    write(os.path.join(sdir, "vocab.txt"), hf_vocab)
    write(os.path.join(sdir, "model.safetensors"), safetensors_bytes(ernie_hf_names(w)))

    # The encoder's output for a few titles ([CLS] ... [SEP], zero-padded).
    ids = np.array([[1, 5, 6, 7, 2, 0, 0], [1, 20, 2, 0, 0, 0, 0], [1, 9, 10, 11, 12, 23, 2]], dtype=np.int64)
    lengths = np.array([5, 3, 7], dtype=np.int64)
    enc = ernie_forward(w, ids, lengths)
    write_json(os.path.join(out, "ernie_outputs.json"),
               {"ids": ids.tolist(), "lengths": lengths.tolist(), "outputs": enc.tolist()})

    # Torch files that must be refused.
    buf = io.BytesIO()
    torch.save({"a.weight": torch.ones(2)}, buf)
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as src, zipfile.ZipFile(os.path.join(out, "torch_deflated.bin"), "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info.filename))

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))
    with zipfile.ZipFile(os.path.join(out, "torch_evil.bin"), "w", zipfile.ZIP_STORED) as z:
        z.writestr("archive/data.pkl", pickle.dumps(collections.OrderedDict(x=Evil()), protocol=2))
        z.writestr("archive/version", "3\n")
    torch.save([torch.ones(2)], os.path.join(out, "torch_list.bin"))
    torch.save({"epoch": 3, "state_dict": {"w": torch.arange(6, dtype=torch.float64).reshape(2, 3).t()}},
               os.path.join(out, "torch_nested.bin"))

    # The original's combined checkpoints of a tiny network, in both pooling modes.
    for mode in ("text_guide", "self_attention"):
        ours, paddle = checkpoint(w, mode)
        cdir = os.path.join(out, "checkpoint_" + mode)
        names = sorted(paddle)
        write(os.path.join(cdir, "param"), b"".join(paddle_record(paddle[n]) for n in names))
        write(os.path.join(cdir, "names.txt"),
              "".join(f"{n} {list(paddle[n].shape)}\n" for n in names).replace(" [", "\t[").encode())
        write(os.path.join(cdir, "ours.safetensors"), safetensors_bytes(dict(sorted(ours.items()))))
        write_json(os.path.join(cdir, "model.json"), net_json(mode))
        print(mode, len(names), "Paddle tensors,", len(ours), "of ours")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/interop")
