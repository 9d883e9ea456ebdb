#!/usr/bin/python3
"""The mvtag network written the way a PyTorch user would write it: eager mode, nn.Modules,
Python loops over time steps for the peephole LSTMs (torch.nn.LSTM has no peepholes).

This is the "obvious alternative" the speed benchmark compares mvtag against
(scripts/bench.sh, docs/PERFORMANCE.md). It is written independently of the C++ code from the
description of the network (docs/FORMATS.md, docs/COMPAT.md): ERNIE 1.0 (post-LayerNorm BERT,
ReLU FFN, q scaled before the product, -10000 key-padding bias), a TextCNN with windows 2/3/4 and
masked max pooling, two bidirectional peephole LSTMs (Paddle gate order c~, i, f, o) with
text-guided attention pooling, Paddle-style dropout (eval scales by 1 - p), a linear head.
It does the same arithmetic as mvtag, no more and no less; weights are random (speed only).
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F


def lengths_mask(lengths, steps):
    return torch.arange(steps).unsqueeze(0) < lengths.unsqueeze(1)  # [B, T] True = real step


def paddle_dropout(x, p, training):
    if p == 0:
        return x
    if not training:
        return x * (1 - p)
    return x * torch.empty_like(x).bernoulli_(1 - p)


class ErnieLayer(nn.Module):
    def __init__(self, d, heads, inner, p):
        super().__init__()
        self.heads, self.p = heads, p
        self.q, self.k, self.v, self.o = (nn.Linear(d, d) for _ in range(4))
        self.ln1 = nn.LayerNorm(d, eps=1e-5)
        self.fc1, self.fc2 = nn.Linear(d, inner), nn.Linear(inner, d)
        self.ln2 = nn.LayerNorm(d, eps=1e-5)

    def forward(self, x, bias):
        b, l, d = x.shape
        hd = d // self.heads

        def heads(t):
            return t.view(b, l, self.heads, hd).transpose(1, 2)

        q = heads(self.q(x) / math.sqrt(hd))
        k, v = heads(self.k(x)), heads(self.v(x))
        att = F.dropout(torch.softmax(q @ k.transpose(-1, -2) + bias, -1), self.p, self.training)
        ctx = (att @ v).transpose(1, 2).reshape(b, l, d)
        x = self.ln1(x + F.dropout(self.o(ctx), self.p, self.training))
        return self.ln2(x + F.dropout(self.fc2(F.relu(self.fc1(x))), self.p, self.training))


class Ernie(nn.Module):
    def __init__(self, vocab, d, layers, heads, inner, max_pos, p=0.1):
        super().__init__()
        self.word = nn.Embedding(vocab, d)
        self.pos = nn.Embedding(max_pos, d)
        self.sent = nn.Embedding(2, d)
        self.ln = nn.LayerNorm(d, eps=1e-5)
        self.layers = nn.ModuleList(ErnieLayer(d, heads, inner, p) for _ in range(layers))
        self.p = p

    def forward(self, ids, lengths):
        l = ids.shape[1]
        x = self.word(ids) + self.pos(torch.arange(l)).unsqueeze(0) + self.sent.weight[0]
        x = F.dropout(self.ln(x), self.p, self.training)
        bias = ((~lengths_mask(lengths, l)).to(x.dtype) * -10000.0)[:, None, None, :]
        for layer in self.layers:
            x = layer(x, bias)
        return x


class TextCNN(nn.Module):
    def __init__(self, d, filters):
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv1d(d, filters, k) for k in (2, 3, 4))
        self.pads = ((1, 0), (1, 1), (2, 1))

    def forward(self, seq, lengths):
        real = lengths_mask(lengths, seq.shape[1])
        x = seq.masked_fill(~real.unsqueeze(2), 0).transpose(1, 2)
        out = []
        for conv, pad in zip(self.convs, self.pads):
            y = torch.tanh(conv(F.pad(x, pad)))
            out.append(y.masked_fill(~real.unsqueeze(1), float("-inf")).max(2).values)
        return torch.cat(out, 1)


class PeepholeLSTM(nn.Module):
    def __init__(self, hidden, reverse):
        super().__init__()
        self.hidden, self.reverse = hidden, reverse
        self.w_hh = nn.Parameter(torch.empty(4 * hidden, hidden).uniform_(-0.05, 0.05))
        self.bias = nn.Parameter(torch.zeros(4 * hidden))
        self.peep = nn.Parameter(torch.zeros(3 * hidden))

    def forward(self, gates, lengths):  # gates [B, T, 4H] incl. the bias
        b, t_steps, _ = gates.shape
        h_size = self.hidden
        pad = ~lengths_mask(lengths, t_steps)
        h = gates.new_zeros(b, h_size)
        c = gates.new_zeros(b, h_size)
        w_ic, w_fc, w_oc = self.peep.split(h_size)
        outs = [None] * t_steps
        order = range(t_steps - 1, -1, -1) if self.reverse else range(t_steps)
        for t in order:
            a = gates[:, t] + h @ self.w_hh.t()
            a_c, a_i, a_f, a_o = a.split(h_size, 1)
            i = torch.sigmoid(a_i + w_ic * c)
            f = torch.sigmoid(a_f + w_fc * c)
            c = torch.tanh(a_c) * i + c * f
            o = torch.sigmoid(a_o + w_oc * c)
            h = o * torch.tanh(c)
            if self.reverse:
                m = pad[:, t].unsqueeze(1)
                h = h.masked_fill(m, 0)
                c = c.masked_fill(m, 0)
            outs[t] = h
        return torch.stack(outs, 1).masked_fill(pad.unsqueeze(2), 0)


class Branch(nn.Module):
    def __init__(self, in_dim, hidden, text_dim, fwd_bias, bwd_bias):
        super().__init__()
        self.fwd_proj = nn.Linear(in_dim, 4 * hidden, bias=fwd_bias)
        self.bwd_proj = nn.Linear(in_dim, 4 * hidden, bias=bwd_bias)
        self.fwd = PeepholeLSTM(hidden, False)
        self.bwd = PeepholeLSTM(hidden, True)
        self.tanh_fc = nn.Linear(2 * hidden + text_dim, 2 * hidden)
        self.score_fc = nn.Linear(2 * hidden, 1)

    def folded_biases(self):
        """The projections' biases with the LSTMs' gate biases folded in."""
        fb = self.fwd.bias if self.fwd_proj.bias is None else self.fwd_proj.bias + self.fwd.bias
        bb = self.bwd.bias if self.bwd_proj.bias is None else self.bwd_proj.bias + self.bwd.bias
        return fb, bb

    def project(self, x):
        """Gate inputs [B, T, 4H] of the forward and the reverse LSTM (tools/eager_bench.py
        replaces this for --precision int8)."""
        fb, bb = self.folded_biases()
        return F.linear(x, self.fwd_proj.weight, fb), F.linear(x, self.bwd_proj.weight, bb)

    def forward(self, x, lengths, text, p):
        fwd_gates, bwd_gates = self.project(x)
        states = torch.cat([self.fwd(fwd_gates, lengths), self.bwd(bwd_gates, lengths)], 2)
        states = paddle_dropout(states, p, self.training)
        s = states.shape[2]
        w = self.tanh_fc.weight
        hidden = torch.tanh(F.linear(states, w[:, :s]) + F.linear(text, w[:, s:], self.tanh_fc.bias).unsqueeze(1))
        scores = self.score_fc(hidden).squeeze(2)
        scores = scores.masked_fill(~lengths_mask(lengths, states.shape[1]), float("-inf"))
        alpha = torch.softmax(scores, 1)
        return torch.bmm(alpha.unsqueeze(1), states).squeeze(1)


class VideoTagNet(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        e = cfg["ernie"]
        self.ernie = Ernie(e["vocab_size"], e["hidden_size"], e["num_hidden_layers"], e["num_attention_heads"],
                           e["intermediate_size"], e["max_position_embeddings"])
        filters = cfg["textcnn_filters"]
        self.textcnn = TextCNN(e["hidden_size"], filters)
        text_dim = 3 * filters
        self.image = Branch(cfg["rgb_dim"], cfg["lstm_size_img"], text_dim, False, True)
        self.audio = Branch(cfg["audio_dim"], cfg["lstm_size_audio"], text_dim, True, False)
        fusion = 2 * cfg["lstm_size_img"] + 2 * cfg["lstm_size_audio"] + text_dim
        self.head = nn.Linear(fusion, cfg["num_classes"])
        self.p = cfg["drop_rate"]
        for q in self.ernie.parameters():  # ERNIE frozen, as the original trains by default
            q.requires_grad_(False)

    def text_feature(self, ids, lengths):
        with torch.no_grad():  # frozen: no graph through ERNIE (its dropouts still follow .training)
            enc = self.ernie(ids, lengths).float()  # float32 also when ERNIE runs in bfloat16
        return self.textcnn(enc, lengths)

    def forward(self, rgb, rgb_len, audio, audio_len, ids, ids_len):
        text = paddle_dropout(self.text_feature(ids, ids_len), self.p, self.training)
        return self.head(torch.cat([self.image(rgb, rgb_len, text, self.p),
                                    self.audio(audio, audio_len, text, self.p), text], 1))
