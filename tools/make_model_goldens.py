#!/usr/bin/python3
"""Golden fixtures for the network tests (tests/model/*_test.cpp).

An independent reference written from a description of the original (scenario_lib/models/*.py),
deliberately in the original's style rather than ours: parameters in Paddle's names and layouts
(fc weights [in, out], LSTM weight [H, 4H] and bias [1, 7H], sequence_conv filters [k*D, F]),
one video at a time, text padded to a fixed max_len with the (m m^T - 1) * 10000 attention bias,
LoD-style loops over each sequence's own steps. Nothing is shared with the C++ code.

The weights are then written under our names through the mapping of docs/FORMATS.md, so the
fixtures also check that mapping. Values are computed in float64 from float32-rounded weights and
inputs; gradients come from torch autograd (float64) in eval mode (dropouts scale by 1 - p).

Run once by hand:  /usr/bin/python3 tools/make_model_goldens.py
Writes tests/fixtures/model/{a,b}_{config.json,weights.safetensors,io.safetensors}.
"""

import json
import os
import struct

import numpy as np
import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "model")

VOCAB, HIDDEN, LAYERS, HEADS, MAX_POS = 40, 16, 2, 2, 12
INNER = 4 * HIDDEN
RGB, AUDIO, H_IMG, H_AUD, CLASSES, FILTERS = 12, 6, 5, 3, 7, 4
DROP = 0.5
EPS = 1e-5
MAX_LEN = 10  # the original pads every title to text_max_len (50); a stand-in

RGB_LENS = [3, 1, 5, 2]
AUDIO_LENS = [2, 4, 1, 3]
TITLE_LENS = [5, 2, 7, 3]  # incl. [CLS] and [SEP]; the 2-token one is an empty title
LABELS = [[2], [0, 3, 6], [5], [1, 4]]


# ----------------------------------------------------------------------------------------------
# Paddle-style parameters


def f32(a):
    return np.asarray(a, dtype=np.float32)


def paddle_params(rng, text_guided):
    p = {}

    def normal(shape, scale):
        return f32(rng.standard_normal(shape) * scale)

    p["word_embedding"] = normal((VOCAB, HIDDEN), 0.5)
    p["pos_embedding"] = normal((MAX_POS, HIDDEN), 0.5)
    p["sent_embedding"] = normal((2, HIDDEN), 0.5)
    p["pre_encoder_layer_norm_scale"] = f32(1 + rng.standard_normal(HIDDEN) * 0.1)
    p["pre_encoder_layer_norm_bias"] = normal(HIDDEN, 0.1)
    for i in range(LAYERS):
        pre = "encoder_layer_%d_" % i
        for part in ("query", "key", "value", "output"):
            p[pre + "multi_head_att_%s_fc.w_0" % part] = normal((HIDDEN, HIDDEN), 0.3)
            p[pre + "multi_head_att_%s_fc.b_0" % part] = normal(HIDDEN, 0.1)
        p[pre + "post_att_layer_norm_scale"] = f32(1 + rng.standard_normal(HIDDEN) * 0.1)
        p[pre + "post_att_layer_norm_bias"] = normal(HIDDEN, 0.1)
        p[pre + "ffn_fc_0.w_0"] = normal((HIDDEN, INNER), 0.3)
        p[pre + "ffn_fc_0.b_0"] = normal(INNER, 0.1)
        p[pre + "ffn_fc_1.w_0"] = normal((INNER, HIDDEN), 0.2)
        p[pre + "ffn_fc_1.b_0"] = normal(HIDDEN, 0.1)
        p[pre + "post_ffn_layer_norm_scale"] = f32(1 + rng.standard_normal(HIDDEN) * 0.1)
        p[pre + "post_ffn_layer_norm_bias"] = normal(HIDDEN, 0.1)
    for n, k in enumerate((2, 3, 4)):
        p["sequence_conv_%d.w_0" % n] = normal((k * HIDDEN, FILTERS), 0.2)
        p["sequence_conv_%d.b_0" % n] = normal(FILTERS, 0.1)

    def lstm(name, h):
        p[name + ".w_0"] = normal((h, 4 * h), 0.4)
        p[name + ".b_0"] = normal((1, 7 * h), 0.3)

    d_img, d_aud, d_txt = 2 * H_IMG, 2 * H_AUD, 3 * FILTERS
    fc = {}  # role -> Paddle fc name; the counter shifts without the text-guided fcs (docs/FORMATS.md)
    if text_guided:
        fc.update(img_fwd="fc_72", img_bwd="fc_73", aud_fwd="fc_74", aud_bwd="fc_75", out="fc_76")
    else:
        fc.update(img_fwd="fc_72", img_bwd="fc_73", img_att="fc_74", aud_fwd="fc_75", aud_bwd="fc_76",
                  aud_att="fc_77", out="fc_78")
    p[fc["img_fwd"] + ".w_0"] = normal((RGB, 4 * H_IMG), 0.3)
    lstm("lstm_0", H_IMG)
    p[fc["img_bwd"] + ".w_0"] = normal((RGB, 4 * H_IMG), 0.3)
    p[fc["img_bwd"] + ".b_0"] = normal(4 * H_IMG, 0.2)
    lstm("lstm_1", H_IMG)
    p[fc["aud_fwd"] + ".w_0"] = normal((AUDIO, 4 * H_AUD), 0.3)
    p[fc["aud_fwd"] + ".b_0"] = normal(4 * H_AUD, 0.2)
    lstm("lstm_2", H_AUD)
    p[fc["aud_bwd"] + ".w_0"] = normal((AUDIO, 4 * H_AUD), 0.3)
    lstm("lstm_3", H_AUD)
    if text_guided:
        for suffix, d in (("0", d_img), ("1", d_aud)):
            p["seq2seq_attention_tanh_fc.w_" + suffix] = normal((d + d_txt, d), 0.4)
            p["seq2seq_attention_tanh_fc.b_" + suffix] = normal(d, 0.2)
            p["seq2seq_attention_softmax_fc.w_" + suffix] = normal((d, 1), 0.8)
            p["seq2seq_attention_softmax_fc.b_" + suffix] = normal(1, 0.2)
    else:
        p[fc["img_att"] + ".w_0"] = normal((d_img, 1), 0.8)
        p[fc["img_att"] + ".b_0"] = normal(1, 0.2)
        p[fc["aud_att"] + ".w_0"] = normal((d_aud, 1), 0.8)
        p[fc["aud_att"] + ".b_0"] = normal(1, 0.2)
    p[fc["out"] + ".w_0"] = normal((d_img + d_aud + d_txt, CLASSES), 0.4)
    p[fc["out"] + ".b_0"] = normal(CLASSES, 0.2)
    return p, fc


# ----------------------------------------------------------------------------------------------
# Paddle name/layout -> our name/layout (docs/FORMATS.md)


def our_name_map(text_guided, fc):
    """our name -> (Paddle name, transform)."""
    m = {
        "ernie.word_embeddings.weight": ("word_embedding", "none"),
        "ernie.position_embeddings.weight": ("pos_embedding", "none"),
        "ernie.sentence_embeddings.weight": ("sent_embedding", "none"),
        "ernie.embedding_norm.weight": ("pre_encoder_layer_norm_scale", "none"),
        "ernie.embedding_norm.bias": ("pre_encoder_layer_norm_bias", "none"),
    }
    for i in range(LAYERS):
        ours, pd = "ernie.layers.%d." % i, "encoder_layer_%d_" % i
        for part in ("query", "key", "value", "output"):
            m[ours + "attention.%s.weight" % part] = (pd + "multi_head_att_%s_fc.w_0" % part, "T")
            m[ours + "attention.%s.bias" % part] = (pd + "multi_head_att_%s_fc.b_0" % part, "none")
        m[ours + "attention_norm.weight"] = (pd + "post_att_layer_norm_scale", "none")
        m[ours + "attention_norm.bias"] = (pd + "post_att_layer_norm_bias", "none")
        m[ours + "ffn_in.weight"] = (pd + "ffn_fc_0.w_0", "T")
        m[ours + "ffn_in.bias"] = (pd + "ffn_fc_0.b_0", "none")
        m[ours + "ffn_out.weight"] = (pd + "ffn_fc_1.w_0", "T")
        m[ours + "ffn_out.bias"] = (pd + "ffn_fc_1.b_0", "none")
        m[ours + "ffn_norm.weight"] = (pd + "post_ffn_layer_norm_scale", "none")
        m[ours + "ffn_norm.bias"] = (pd + "post_ffn_layer_norm_bias", "none")
    for n, k in enumerate((2, 3, 4)):
        m["textcnn.conv%d.weight" % k] = ("sequence_conv_%d.w_0" % n, "conv%d" % k)
        m["textcnn.conv%d.bias" % k] = ("sequence_conv_%d.b_0" % n, "none")

    def branch(ours, fwd_fc, bwd_fc, fwd_bias, bwd_bias, fwd_lstm, bwd_lstm):
        m[ours + ".fwd_proj.weight"] = (fwd_fc + ".w_0", "T")
        if fwd_bias:
            m[ours + ".fwd_proj.bias"] = (fwd_fc + ".b_0", "none")
        m[ours + ".bwd_proj.weight"] = (bwd_fc + ".w_0", "T")
        if bwd_bias:
            m[ours + ".bwd_proj.bias"] = (bwd_fc + ".b_0", "none")
        for d, lstm in (("fwd", fwd_lstm), ("bwd", bwd_lstm)):
            m[ours + ".%s_lstm.weight_hh" % d] = (lstm + ".w_0", "T")
            m[ours + ".%s_lstm.bias" % d] = (lstm + ".b_0", "gates")
            m[ours + ".%s_lstm.peephole" % d] = (lstm + ".b_0", "peepholes")

    branch("image", fc["img_fwd"], fc["img_bwd"], False, True, "lstm_0", "lstm_1")
    branch("audio", fc["aud_fwd"], fc["aud_bwd"], True, False, "lstm_2", "lstm_3")
    if text_guided:
        for ours, suffix in (("image", "0"), ("audio", "1")):
            m[ours + ".attention.tanh_fc.weight"] = ("seq2seq_attention_tanh_fc.w_" + suffix, "T")
            m[ours + ".attention.tanh_fc.bias"] = ("seq2seq_attention_tanh_fc.b_" + suffix, "none")
            m[ours + ".attention.score_fc.weight"] = ("seq2seq_attention_softmax_fc.w_" + suffix, "T")
            m[ours + ".attention.score_fc.bias"] = ("seq2seq_attention_softmax_fc.b_" + suffix, "none")
    else:
        for ours, name in (("image", fc["img_att"]), ("audio", fc["aud_att"])):
            m[ours + ".attention.score_fc.weight"] = (name + ".w_0", "T")
            m[ours + ".attention.score_fc.bias"] = (name + ".b_0", "none")
    m["classifier.weight"] = (fc["out"] + ".w_0", "T")
    m["classifier.bias"] = (fc["out"] + ".b_0", "none")
    return m


def to_ours(value, transform):
    """Paddle layout -> ours, for numpy arrays (weights and their gradients alike)."""
    if transform == "none":
        return value
    if transform == "T":
        return value.T
    if transform.startswith("conv"):
        k = int(transform[4:])
        # Paddle row j*D + d of the [k*D, F] filter is offset j, feature d -> torch [F, D, k].
        return value.reshape(k, HIDDEN, FILTERS).transpose(2, 1, 0)
    h = value.shape[1] // 7
    if transform == "gates":
        return value[0, : 4 * h]
    if transform == "peepholes":
        return value[0, 4 * h:]
    raise ValueError(transform)


# ----------------------------------------------------------------------------------------------
# The original's forward pass, one video at a time


def layer_norm(x, scale, bias):
    mean = x.mean(dim=-1, keepdim=True)
    var = ((x - mean) ** 2).mean(dim=-1, keepdim=True)
    return (x - mean) / torch.sqrt(var + EPS) * scale + bias


def ernie_one(P, ids):
    """ids: the title's L token ids. Padded to MAX_LEN like the original's [5, 50, 1] record."""
    n = len(ids)
    src = list(ids) + [0] * (MAX_LEN - n)
    pos = list(range(n)) + [0] * (MAX_LEN - n)
    sent = [0] * MAX_LEN
    mask = torch.tensor([1.0] * n + [0.0] * (MAX_LEN - n), dtype=torch.float64).reshape(MAX_LEN, 1)
    emb = P["word_embedding"][src] + P["pos_embedding"][pos]
    emb = emb + P["sent_embedding"][sent]
    x = layer_norm(emb, P["pre_encoder_layer_norm_scale"], P["pre_encoder_layer_norm_bias"])
    bias = (mask @ mask.T - 1.0) * 10000.0
    dh = HIDDEN // HEADS
    for i in range(LAYERS):
        pre = "encoder_layer_%d_" % i

        def fc(v, name):
            return v @ P[pre + name + ".w_0"] + P[pre + name + ".b_0"]

        q = fc(x, "multi_head_att_query_fc")
        k = fc(x, "multi_head_att_key_fc")
        v = fc(x, "multi_head_att_value_fc")
        heads = []
        for h in range(HEADS):
            cols = slice(h * dh, (h + 1) * dh)
            scores = (q[:, cols] * dh ** -0.5) @ k[:, cols].T + bias
            heads.append(torch.softmax(scores, dim=-1) @ v[:, cols])
        attn = fc(torch.cat(heads, dim=1), "multi_head_att_output_fc")
        x1 = layer_norm(x + attn, P[pre + "post_att_layer_norm_scale"], P[pre + "post_att_layer_norm_bias"])
        ffn = fc(torch.relu(fc(x1, "ffn_fc_0")), "ffn_fc_1")
        x = layer_norm(x1 + ffn, P[pre + "post_ffn_layer_norm_scale"], P[pre + "post_ffn_layer_norm_bias"])
    return x[:n]  # sequence_unpad


def sequence_conv_pool(P, seq, n, k):
    """Paddle sequence_conv (padding_start = -(k // 2), zeros outside the sequence), tanh, max."""
    start = -(k // 2)
    w, b = P["sequence_conv_%d.w_0" % n], P["sequence_conv_%d.b_0" % n]
    rows = []
    for t in range(seq.shape[0]):
        context = []
        for j in range(k):
            s = t + start + j
            context.append(seq[s] if 0 <= s < seq.shape[0] else torch.zeros(HIDDEN, dtype=torch.float64))
        rows.append(torch.tanh(torch.cat(context) @ w + b))
    return torch.stack(rows).max(dim=0).values


def dynamic_lstm(gates, w, b, reverse):
    """gates [T, 4H] from the fc; w [H, 4H]; b [1, 7H]; blocks [c, i, f, o]."""
    h_size = w.shape[0]
    gate_bias, w_ic, w_fc, w_oc = b[0, :4 * h_size], b[0, 4 * h_size:5 * h_size], b[0, 5 * h_size:6 * h_size], b[0, 6 * h_size:]
    h = torch.zeros(h_size, dtype=torch.float64)
    c = torch.zeros(h_size, dtype=torch.float64)
    out = [None] * gates.shape[0]
    order = range(gates.shape[0] - 1, -1, -1) if reverse else range(gates.shape[0])
    for t in order:
        a = gates[t] + h @ w + gate_bias
        a_c, a_i, a_f, a_o = a[:h_size], a[h_size:2 * h_size], a[2 * h_size:3 * h_size], a[3 * h_size:]
        cand = torch.tanh(a_c)
        i = torch.sigmoid(a_i + w_ic * c)
        f = torch.sigmoid(a_f + w_fc * c)
        c = cand * i + c * f
        o = torch.sigmoid(a_o + w_oc * c)
        h = o * torch.tanh(c)
        out[t] = h
    return torch.stack(out)


def attention_pool(P, states, text, names):
    if "tanh_w" in names:
        scores = []
        for t in range(states.shape[0]):
            e = torch.tanh(torch.cat([states[t], text]) @ P[names["tanh_w"]] + P[names["tanh_b"]])
            scores.append(e @ P[names["score_w"]] + P[names["score_b"]])
    else:
        scores = [states[t] @ P[names["score_w"]] + P[names["score_b"]] for t in range(states.shape[0])]
    alpha = torch.softmax(torch.cat(scores), dim=0)  # sequence_softmax over this video's steps
    return sum(alpha[t] * states[t] for t in range(states.shape[0]))


def video_forward(P, fc, text_guided, ids, rgb, audio):
    """One video: returns a dict of intermediate results (eval mode)."""
    r = {}
    enc = ernie_one(P, ids)
    r["ernie_out"] = enc
    text = torch.cat([sequence_conv_pool(P, enc, n, k) for n, k in enumerate((2, 3, 4))])
    r["text_feature"] = text
    text = text * (1 - DROP)  # downgrade_in_infer, eval
    g = rgb @ P[fc["img_fwd"] + ".w_0"]
    r["image_fwd"] = dynamic_lstm(g, P["lstm_0.w_0"], P["lstm_0.b_0"], False)
    g = rgb @ P[fc["img_bwd"] + ".w_0"] + P[fc["img_bwd"] + ".b_0"]
    r["image_bwd"] = dynamic_lstm(g, P["lstm_1.w_0"], P["lstm_1.b_0"], True)
    g = audio @ P[fc["aud_fwd"] + ".w_0"] + P[fc["aud_fwd"] + ".b_0"]
    r["audio_fwd"] = dynamic_lstm(g, P["lstm_2.w_0"], P["lstm_2.b_0"], False)
    g = audio @ P[fc["aud_bwd"] + ".w_0"]
    r["audio_bwd"] = dynamic_lstm(g, P["lstm_3.w_0"], P["lstm_3.b_0"], True)
    img = torch.cat([r["image_fwd"], r["image_bwd"]], dim=1) * (1 - DROP)
    aud = torch.cat([r["audio_fwd"], r["audio_bwd"]], dim=1) * (1 - DROP)
    if text_guided:
        img_names = dict(tanh_w="seq2seq_attention_tanh_fc.w_0", tanh_b="seq2seq_attention_tanh_fc.b_0",
                         score_w="seq2seq_attention_softmax_fc.w_0", score_b="seq2seq_attention_softmax_fc.b_0")
        aud_names = {k: v[:-1] + "1" for k, v in img_names.items()}
    else:
        img_names = dict(score_w=fc["img_att"] + ".w_0", score_b=fc["img_att"] + ".b_0")
        aud_names = dict(score_w=fc["aud_att"] + ".w_0", score_b=fc["aud_att"] + ".b_0")
    r["image_pooled"] = attention_pool(P, img, text, img_names)
    r["audio_pooled"] = attention_pool(P, aud, text, aud_names)
    final = torch.cat([r["image_pooled"], r["audio_pooled"], text])
    r["logits"] = final @ P[fc["out"] + ".w_0"] + P[fc["out"] + ".b_0"]
    return r


def sigmoid_loss(z, y):
    return (torch.clamp(z, min=0) - z * y + torch.log(1 + torch.exp(-torch.abs(z)))).sum()


def softmax_loss(z, y):
    y = y / y.sum()
    return -(y * torch.log(torch.softmax(z, dim=0))).sum()


# ----------------------------------------------------------------------------------------------
# safetensors, by hand


def write_safetensors(path, arrays):
    header, blobs, offset = {}, [], 0
    codes = {np.dtype(np.float32): "F32", np.dtype(np.float64): "F64", np.dtype(np.int64): "I64"}
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        raw = a.astype(a.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": codes[a.dtype], "shape": list(a.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    header["__metadata__"] = {"producer": "tools/make_model_goldens.py"}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for raw in blobs:
            f.write(raw)


def net_config(text_guided, loss_type, freeze):
    return {
        "ernie": {
            "attention_probs_dropout_prob": 0.1, "hidden_act": "relu", "hidden_dropout_prob": 0.1,
            "hidden_size": HIDDEN, "initializer_range": 0.02, "intermediate_size": INNER,
            "layer_norm_eps": EPS, "max_position_embeddings": MAX_POS, "num_attention_heads": HEADS,
            "num_hidden_layers": LAYERS, "type_vocab_size": 2, "vocab_size": VOCAB,
        },
        "rgb_dim": RGB, "audio_dim": AUDIO, "lstm_size_img": H_IMG, "lstm_size_audio": H_AUD,
        "num_classes": CLASSES, "textcnn_filters": FILTERS, "drop_rate": DROP,
        "lstm_pool_mode": "text_guide" if text_guided else "attention", "loss_type": loss_type,
        "ernie_freeze": freeze,
    }


# ----------------------------------------------------------------------------------------------


def make_inputs(rng):
    batch = len(RGB_LENS)
    t_rgb, t_aud, t_txt = max(RGB_LENS), max(AUDIO_LENS), max(TITLE_LENS)
    # Padding is filled with junk on purpose: the network must never read it.
    rgb = f32(rng.standard_normal((batch, t_rgb, RGB)))
    audio = f32(rng.standard_normal((batch, t_aud, AUDIO)))
    ids = rng.integers(4, VOCAB, size=(batch, t_txt)).astype(np.int64)
    titles = []
    for b, n in enumerate(TITLE_LENS):
        title = [1] + list(rng.integers(4, VOCAB, size=n - 2)) + [2]
        ids[b, :n] = title
        titles.append([int(v) for v in title])
    labels = np.zeros((batch, CLASSES), dtype=np.float32)
    for b, ls in enumerate(LABELS):
        labels[b, ls] = 1.0
    return rgb, audio, ids, titles, labels


def make_case(prefix, seed, text_guided, loss_type, grad_names):
    rng = np.random.default_rng(seed)
    paddle, fc = paddle_params(rng, text_guided)
    rgb, audio, ids, titles, labels = make_inputs(rng)
    P = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in paddle.items()}

    results = [video_forward(P, fc, text_guided, titles[b],
                             torch.tensor(rgb[b, :RGB_LENS[b]], dtype=torch.float64),
                             torch.tensor(audio[b, :AUDIO_LENS[b]], dtype=torch.float64))
               for b in range(len(titles))]
    logits = torch.stack([r["logits"] for r in results])
    y = torch.tensor(labels, dtype=torch.float64)
    if loss_type == "sigmoid":
        loss = sum(sigmoid_loss(logits[b], y[b]) for b in range(len(titles)))
        probs = torch.sigmoid(logits)
    else:
        loss = sum(softmax_loss(logits[b], y[b]) for b in range(len(titles)))
        probs = torch.softmax(logits, dim=1)
    loss.backward()

    def padded(key, steps, width, lens):
        out = np.zeros((len(titles), steps, width))
        for b, r in enumerate(results):
            out[b, :lens[b]] = r[key].detach().numpy()
        return out

    io = {
        "rgb": rgb, "rgb_len": np.array(RGB_LENS, dtype=np.int64),
        "audio": audio, "audio_len": np.array(AUDIO_LENS, dtype=np.int64),
        "text_ids": ids, "text_len": np.array(TITLE_LENS, dtype=np.int64),
        "labels": labels,
        "ernie_out": padded("ernie_out", ids.shape[1], HIDDEN, TITLE_LENS),
        "image_fwd": padded("image_fwd", rgb.shape[1], H_IMG, RGB_LENS),
        "image_bwd": padded("image_bwd", rgb.shape[1], H_IMG, RGB_LENS),
        "audio_fwd": padded("audio_fwd", audio.shape[1], H_AUD, AUDIO_LENS),
        "audio_bwd": padded("audio_bwd", audio.shape[1], H_AUD, AUDIO_LENS),
        "logits": logits.detach().numpy(),
        "probabilities": probs.detach().numpy(),
        "loss": np.array([loss.item()]),
    }
    for key in ("text_feature", "image_pooled", "audio_pooled"):
        io[key] = np.stack([r[key].detach().numpy() for r in results])
    mapping = our_name_map(text_guided, fc)
    assert {source for source, _ in mapping.values()} == set(paddle), "the mapping misses a parameter"
    for name in grad_names:
        source, transform = mapping[name]
        io["grad." + name] = to_ours(P[source].grad.numpy(), transform)
    weights = {name: f32(to_ours(paddle[source], transform)) for name, (source, transform) in mapping.items()}

    write_safetensors(os.path.join(OUT, prefix + "_weights.safetensors"), weights)
    write_safetensors(os.path.join(OUT, prefix + "_io.safetensors"), io)
    with open(os.path.join(OUT, prefix + "_config.json"), "w") as f:
        json.dump(net_config(text_guided, loss_type, True), f, indent=2, sort_keys=True)
        f.write("\n")
    print(prefix, "loss", loss.item(), "tensors", len(weights), "grads", len(grad_names))


NON_ERNIE_GRADS = [
    "textcnn.conv2.weight", "textcnn.conv3.weight", "textcnn.conv4.bias",
    "image.fwd_proj.weight", "image.bwd_proj.bias", "image.fwd_lstm.weight_hh", "image.fwd_lstm.bias",
    "image.bwd_lstm.peephole", "image.bwd_lstm.weight_hh",
    "audio.fwd_proj.bias", "audio.bwd_proj.weight", "audio.bwd_lstm.weight_hh", "audio.fwd_lstm.peephole",
    "audio.bwd_lstm.bias",
    "image.attention.score_fc.weight", "audio.attention.score_fc.weight",
    "classifier.weight", "classifier.bias",
]
ERNIE_GRADS = [
    "ernie.word_embeddings.weight", "ernie.position_embeddings.weight", "ernie.sentence_embeddings.weight",
    "ernie.embedding_norm.weight", "ernie.layers.0.attention.query.weight", "ernie.layers.0.attention.value.bias",
    "ernie.layers.1.ffn_in.bias", "ernie.layers.1.ffn_out.weight", "ernie.layers.1.ffn_norm.weight",
]


def main():
    os.makedirs(OUT, exist_ok=True)
    make_case("a", 20240601, True, "sigmoid",
              NON_ERNIE_GRADS + ["image.attention.tanh_fc.weight", "audio.attention.tanh_fc.bias"] + ERNIE_GRADS)
    make_case("b", 20240602, False, "softmax", NON_ERNIE_GRADS + ERNIE_GRADS[:3])


if __name__ == "__main__":
    main()
