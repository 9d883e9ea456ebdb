#include "mvtag/core/interop/paddle_names.h"

#include <algorithm>
#include <cstring>

#include "mvtag/core/base/error.h"

namespace mvtag {

namespace {

using Shape = std::vector<std::int64_t>;

ParamMapping same(const std::string& paddle, const std::string& ours, const Shape& shape) {
  return {{paddle, shape}, ParamTransform::Same, {{ours, shape}}};
}

// An fc weight, given in Paddle's [in, out].
ParamMapping fc_weight(const std::string& paddle, const std::string& ours, std::int64_t in, std::int64_t out) {
  return {{paddle, {in, out}}, ParamTransform::Transpose, {{ours, {out, in}}}};
}

// One fc: weight and, when bias_name is set, its bias.
void add_fc(std::vector<ParamMapping>& out, const std::string& weight, const std::string& bias,
            const std::string& ours, std::int64_t in, std::int64_t size) {
  out.push_back(fc_weight(weight, ours + ".weight", in, size));
  if (!bias.empty()) out.push_back(same(bias, ours + ".bias", {size}));
}

void add_lstm(std::vector<ParamMapping>& out, int index, const std::string& ours, std::int64_t hidden) {
  const std::string name = "lstm_" + std::to_string(index);
  out.push_back(fc_weight(name + ".w_0", ours + ".weight_hh", hidden, 4 * hidden));
  out.push_back({{name + ".b_0", {1, 7 * hidden}},
                 ParamTransform::LstmBias,
                 {{ours + ".bias", {4 * hidden}}, {ours + ".peephole", {3 * hidden}}}});
}

std::string fc_name(std::int64_t base, int n) { return "fc_" + std::to_string(base + n); }

// One branch (image or audio): projections, LSTMs and attention pooling (the original's
// scenario_lib/models/attention_lstm_ernie.py).
struct Branch {
  std::string ours;           // "image" / "audio"
  std::int64_t input = 0;     // feature width
  std::int64_t hidden = 0;    // LSTM size
  int fwd_fc = 0, bwd_fc = 0; // fc numbers (offsets from 6L)
  bool fwd_bias = false;      // the original's quirk: image has the bias on bwd, audio on fwd
  int lstm = 0;               // first LSTM index
  std::string seq2seq_suffix; // text_guide: "0" / "1"
  int score_fc = 0;           // self-attention: the score fc
};

void add_branch(std::vector<ParamMapping>& out, const Branch& b, const NetConfig& c, std::int64_t base) {
  const std::int64_t gates = 4 * b.hidden;
  const std::string fwd = fc_name(base, b.fwd_fc), bwd = fc_name(base, b.bwd_fc);
  add_fc(out, fwd + ".w_0", b.fwd_bias ? fwd + ".b_0" : "", b.ours + ".fwd_proj", b.input, gates);
  add_lstm(out, b.lstm, b.ours + ".fwd_lstm", b.hidden);
  add_fc(out, bwd + ".w_0", b.fwd_bias ? "" : bwd + ".b_0", b.ours + ".bwd_proj", b.input, gates);
  add_lstm(out, b.lstm + 1, b.ours + ".bwd_lstm", b.hidden);
  const std::int64_t seq = 2 * b.hidden;
  if (c.text_guided()) {
    const std::string tanh = "seq2seq_attention_tanh_fc.", score = "seq2seq_attention_softmax_fc.";
    add_fc(out, tanh + "w_" + b.seq2seq_suffix, tanh + "b_" + b.seq2seq_suffix, b.ours + ".attention.tanh_fc",
           seq + c.text_dim(), seq);
    add_fc(out, score + "w_" + b.seq2seq_suffix, score + "b_" + b.seq2seq_suffix, b.ours + ".attention.score_fc",
           seq, 1);
  } else {
    const std::string score = fc_name(base, b.score_fc);
    add_fc(out, score + ".w_0", score + ".b_0", b.ours + ".attention.score_fc", seq, 1);
  }
}

std::size_t elements(const Shape& shape) {
  std::size_t n = 1;
  for (std::int64_t d : shape) n *= static_cast<std::size_t>(d);
  return n;
}

NDArray with_shape(DType dtype, Shape shape) {
  NDArray a;
  a.dtype = dtype;
  a.data.resize(elements(shape) * dtype_size(dtype));
  a.shape = std::move(shape);
  return a;
}

NDArray transposed(const NDArray& in, const Shape& out_shape) {
  NDArray out = with_shape(in.dtype, out_shape);
  const std::size_t rows = static_cast<std::size_t>(in.shape[0]), cols = static_cast<std::size_t>(in.shape[1]);
  const std::size_t item = dtype_size(in.dtype);
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t c = 0; c < cols; ++c) {
      std::memcpy(&out.data[(c * rows + r) * item], &in.data[(r * cols + c) * item], item);
    }
  }
  return out;
}

// Paddle's filter row j·D + d, column o <-> ours[o, d, j]; `to_ours` picks the direction.
NDArray conv_filter(const NDArray& in, const Shape& ours_shape, const Shape& paddle_shape, bool to_ours) {
  const std::size_t filters = static_cast<std::size_t>(ours_shape[0]), dim = static_cast<std::size_t>(ours_shape[1]),
                    width = static_cast<std::size_t>(ours_shape[2]);
  const std::size_t item = dtype_size(in.dtype);
  NDArray out = with_shape(in.dtype, to_ours ? ours_shape : paddle_shape);
  for (std::size_t o = 0; o < filters; ++o) {
    for (std::size_t d = 0; d < dim; ++d) {
      for (std::size_t j = 0; j < width; ++j) {
        const std::size_t ours_at = (o * dim + d) * width + j, paddle_at = (j * dim + d) * filters + o;
        const std::size_t from = to_ours ? paddle_at : ours_at, to = to_ours ? ours_at : paddle_at;
        std::memcpy(&out.data[to * item], &in.data[from * item], item);
      }
    }
  }
  return out;
}

void check_shape(const NDArray& a, const ParamSpec& spec) {
  if (a.shape != spec.shape || a.data.size() != elements(spec.shape) * dtype_size(a.dtype)) {
    throw_error(ErrorKind::Model, "expected shape " + shape_string(spec.shape) + ", got " + shape_string(a.shape),
                Location{"", 0, "", spec.name});
  }
}

}  // namespace

std::vector<ParamMapping> paddle_ernie_mapping(const ErnieConfig& c) {
  const std::int64_t d = c.hidden_size, inner = c.intermediate_size;
  std::vector<ParamMapping> out = {
      same("word_embedding", "ernie.word_embeddings.weight", {c.vocab_size, d}),
      same("pos_embedding", "ernie.position_embeddings.weight", {c.max_position_embeddings, d}),
      same("sent_embedding", "ernie.sentence_embeddings.weight", {c.type_vocab_size, d}),
      same("pre_encoder_layer_norm_scale", "ernie.embedding_norm.weight", {d}),
      same("pre_encoder_layer_norm_bias", "ernie.embedding_norm.bias", {d}),
  };
  for (std::int64_t i = 0; i < c.num_hidden_layers; ++i) {
    const std::string p = "encoder_layer_" + std::to_string(i) + "_";
    const std::string o = "ernie.layers." + std::to_string(i) + ".";
    for (const char* part : {"query", "key", "value", "output"}) {
      const std::string fc = p + "multi_head_att_" + part + "_fc.";
      add_fc(out, fc + "w_0", fc + "b_0", o + "attention." + part, d, d);
    }
    out.push_back(same(p + "post_att_layer_norm_scale", o + "attention_norm.weight", {d}));
    out.push_back(same(p + "post_att_layer_norm_bias", o + "attention_norm.bias", {d}));
    add_fc(out, p + "ffn_fc_0.w_0", p + "ffn_fc_0.b_0", o + "ffn_in", d, inner);
    add_fc(out, p + "ffn_fc_1.w_0", p + "ffn_fc_1.b_0", o + "ffn_out", inner, d);
    out.push_back(same(p + "post_ffn_layer_norm_scale", o + "ffn_norm.weight", {d}));
    out.push_back(same(p + "post_ffn_layer_norm_bias", o + "ffn_norm.bias", {d}));
  }
  return out;
}

std::vector<ParamMapping> paddle_checkpoint_mapping(const NetConfig& c) {
  std::vector<ParamMapping> out = paddle_ernie_mapping(c.ernie);
  const std::int64_t d = c.ernie.hidden_size, f = c.textcnn_filters;
  const int windows[] = {2, 3, 4};
  for (int i = 0; i < 3; ++i) {
    const std::int64_t k = windows[i];
    const std::string name = "sequence_conv_" + std::to_string(i);
    const std::string ours = "textcnn.conv" + std::to_string(k);
    out.push_back({{name + ".w_0", {k * d, f}}, ParamTransform::ConvFilter, {{ours + ".weight", {f, d, k}}}});
    out.push_back(same(name + ".b_0", ours + ".bias", {f}));
  }
  // fc numbers follow the order the original creates them in (docs/FORMATS.md, "The combined parameter file").
  const std::int64_t base = 6 * c.ernie.num_hidden_layers;
  const bool guided = c.text_guided();
  add_branch(out, Branch{"image", c.rgb_dim, c.lstm_size_img, 0, 1, false, 0, "0", 2}, c, base);
  const int audio_fc = guided ? 2 : 3;
  add_branch(out, Branch{"audio", c.audio_dim, c.lstm_size_audio, audio_fc, audio_fc + 1, true, 2, "1", audio_fc + 2},
             c, base);
  const std::string head = fc_name(base, guided ? 4 : 6);
  add_fc(out, head + ".w_0", head + ".b_0", "classifier", c.fusion_dim(), c.num_classes);
  // Python's sorted() on str compares code points; std::string compares bytes as unsigned char,
  // which for these ASCII names is the same order.
  std::sort(out.begin(), out.end(),
            [](const ParamMapping& a, const ParamMapping& b) { return a.paddle.name < b.paddle.name; });
  return out;
}

std::vector<ParamSpec> ernie_parameter_specs(const ErnieConfig& config) {
  std::vector<ParamSpec> out;
  for (const ParamMapping& m : paddle_ernie_mapping(config)) out.insert(out.end(), m.ours.begin(), m.ours.end());
  return out;
}

std::vector<NamedArray> paddle_to_ours(const ParamMapping& m, const NDArray& paddle) {
  check_shape(paddle, m.paddle);
  const ParamSpec& first = m.ours.front();
  switch (m.transform) {
    case ParamTransform::Same: return {{first.name, paddle}};
    case ParamTransform::Transpose: return {{first.name, transposed(paddle, first.shape)}};
    case ParamTransform::ConvFilter: return {{first.name, conv_filter(paddle, first.shape, m.paddle.shape, true)}};
    case ParamTransform::LstmBias: {
      const std::size_t split = elements(first.shape) * dtype_size(paddle.dtype);
      NDArray gates = with_shape(paddle.dtype, first.shape), peep = with_shape(paddle.dtype, m.ours[1].shape);
      std::memcpy(gates.data.data(), paddle.data.data(), split);
      std::memcpy(peep.data.data(), paddle.data.data() + split, peep.data.size());
      return {{first.name, std::move(gates)}, {m.ours[1].name, std::move(peep)}};
    }
  }
  return {};
}

NDArray ours_to_paddle(const ParamMapping& m, const std::vector<const NDArray*>& ours) {
  if (ours.size() != m.ours.size()) {
    throw_error(ErrorKind::Runtime, "expected " + std::to_string(m.ours.size()) + " tensors",
                Location{"", 0, "", m.paddle.name});
  }
  for (std::size_t i = 0; i < ours.size(); ++i) check_shape(*ours[i], m.ours[i]);
  const NDArray& first = *ours.front();
  switch (m.transform) {
    case ParamTransform::Same: return first;
    case ParamTransform::Transpose: return transposed(first, m.paddle.shape);
    case ParamTransform::ConvFilter: return conv_filter(first, m.ours.front().shape, m.paddle.shape, false);
    case ParamTransform::LstmBias: {
      if (ours[1]->dtype != first.dtype) {
        throw_error(ErrorKind::Model, "gate bias and peepholes differ in dtype", Location{"", 0, "", m.paddle.name});
      }
      NDArray out = with_shape(first.dtype, m.paddle.shape);
      std::memcpy(out.data.data(), first.data.data(), first.data.size());
      std::memcpy(out.data.data() + first.data.size(), ours[1]->data.data(), ours[1]->data.size());
      return out;
    }
  }
  return first;
}

}  // namespace mvtag
