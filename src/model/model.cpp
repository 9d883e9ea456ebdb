#include "mvtag/model/model.h"

#include <torch/torch.h>

#include "mvtag/core/base/error.h"
#include "mvtag/core/formats/ndarray.h"
#include "mvtag/model/paddle_dropout.h"
#include "mvtag/model/param_init.h"

namespace mvtag {

namespace {

Location at_input(const std::string& name) {
  Location where;
  where.tensor = name;
  return where;
}

[[noreturn]] void bad_input(const std::string& name, const std::string& message) {
  throw_error(ErrorKind::Data, message, at_input(name));
}

// Shape, dtype and device checks; the length ranges are checked by check_lengths.
void check_sequence(const torch::Tensor& data, const torch::Tensor& lengths, const std::string& name,
                    std::int64_t batch, std::int64_t dim, const torch::Device& device) {
  const bool features = dim > 0;
  if (!data.defined() || data.dim() != (features ? 3 : 2) || data.size(0) != batch ||
      (features && data.size(2) != dim)) {
    const std::string expected = features ? "[" + std::to_string(batch) + ", T, " + std::to_string(dim) + "]"
                                          : "[" + std::to_string(batch) + ", L]";
    bad_input(name, "expected shape " + expected + ", got " +
                        (data.defined() ? shape_string(data.sizes().vec()) : std::string("an undefined tensor")));
  }
  if (features && !data.is_floating_point()) bad_input(name, "expected floating-point features");
  if (!features && data.scalar_type() != torch::kInt64) bad_input(name, "expected int64 token ids");
  if (data.device() != device) bad_input(name, "is on another device than rgb");
  const std::string len_name = name + "_len";
  if (!lengths.defined() || lengths.dim() != 1 || lengths.size(0) != batch || lengths.scalar_type() != torch::kInt64) {
    bad_input(len_name, "expected int64 lengths of shape [" + std::to_string(batch) + "]");
  }
  if (lengths.device() != device) bad_input(len_name, "is on another device than rgb");
}

struct LengthCheck {
  std::string name;
  torch::Tensor lengths;
  std::int64_t max;
};

// 1 ≤ len ≤ max for every sequence, read back from the device in one transfer.
void check_lengths(const std::vector<LengthCheck>& checks) {
  std::vector<torch::Tensor> flags;
  for (const auto& c : checks) flags.push_back(torch::logical_or(c.lengths < 1, c.lengths > c.max).any());
  const auto bad = torch::stack(flags).cpu();
  for (std::size_t i = 0; i < checks.size(); ++i) {
    if (bad[static_cast<std::int64_t>(i)].item<bool>()) {
      bad_input(checks[i].name, "every length must be in [1, " + std::to_string(checks[i].max) +
                                    "] (an empty sequence cannot be pooled)");
    }
  }
}

SequenceBranchOptions branch_options(std::int64_t input_dim, std::int64_t hidden, bool fwd_bias, bool bwd_bias,
                                     const NetConfig& config) {
  SequenceBranchOptions o;
  o.input_dim = input_dim;
  o.hidden_size = hidden;
  o.text_dim = config.text_dim();
  o.fwd_proj_bias = fwd_bias;
  o.bwd_proj_bias = bwd_bias;
  o.text_guided = config.text_guided();
  return o;
}

}  // namespace

VideoTagNetImpl::VideoTagNetImpl(const NetConfig& config) : config_(config) {
  validate_net_config(config, "NetConfig");
  ernie = register_module("ernie", Ernie(config.ernie));
  textcnn = register_module("textcnn", TextCnn(config.ernie.hidden_size, config.textcnn_filters));
  // The original puts the projection bias on the image backward fc but on the audio forward fc.
  image = register_module("image", SequenceBranch(branch_options(config.rgb_dim, config.lstm_size_img,
                                                                 /*fwd_bias=*/false, /*bwd_bias=*/true, config)));
  audio = register_module("audio", SequenceBranch(branch_options(config.audio_dim, config.lstm_size_audio,
                                                                 /*fwd_bias=*/true, /*bwd_bias=*/false, config)));
  classifier = register_module("classifier", torch::nn::Linear(config.fusion_dim(), config.num_classes));
  xavier_uniform(classifier->weight, config.fusion_dim(), config.num_classes);
  torch::NoGradGuard no_grad;
  classifier->bias.zero_();
  if (config.ernie_freeze) {
    for (auto& p : ernie->parameters()) p.set_requires_grad(false);
  }
}

void VideoTagNetImpl::check_input(const NetInput& in) const {
  if (!in.rgb.defined() || in.rgb.dim() != 3 || in.rgb.size(0) == 0) {
    bad_input("rgb", "expected shape [B, T, " + std::to_string(config_.rgb_dim) + "] with B ≥ 1");
  }
  const auto batch = in.rgb.size(0);
  const auto device = in.rgb.device();
  check_sequence(in.rgb, in.rgb_len, "rgb", batch, config_.rgb_dim, device);
  check_sequence(in.audio, in.audio_len, "audio", batch, config_.audio_dim, device);
  check_sequence(in.text_ids, in.text_len, "text", batch, 0, device);
  const auto title_steps = in.text_ids.size(1);
  if (title_steps > config_.ernie.max_position_embeddings) {
    bad_input("text", "titles of " + std::to_string(title_steps) + " tokens exceed max_position_embeddings " +
                          std::to_string(config_.ernie.max_position_embeddings));
  }
  check_lengths({{"rgb_len", in.rgb_len, in.rgb.size(1)},
                 {"audio_len", in.audio_len, in.audio.size(1)},
                 {"text_len", in.text_len, title_steps}});
}

torch::Tensor VideoTagNetImpl::text_feature(const torch::Tensor& ids, const torch::Tensor& lengths,
                                            const torch::Tensor& precomputed) {
  torch::Tensor encoded;
  if (precomputed.defined()) {
    if (precomputed.dim() != 3 || precomputed.size(0) != ids.size(0) || precomputed.size(1) != ids.size(1) ||
        precomputed.size(2) != config_.ernie.hidden_size) {
      bad_input("text_encoded", "expected shape [" + std::to_string(ids.size(0)) + ", " + std::to_string(ids.size(1)) +
                                    ", " + std::to_string(config_.ernie.hidden_size) + "], got " +
                                    shape_string(precomputed.sizes().vec()));
    }
    encoded = precomputed;
  } else if (config_.ernie_freeze) {
    // No gradient reaches a frozen ERNIE, so skip building its graph; its dropouts still follow
    // the training flag.
    torch::NoGradGuard no_grad;
    encoded = ernie(ids, lengths);
  } else {
    encoded = ernie(ids, lengths);
  }
  return textcnn(encoded, lengths);
}

torch::Tensor VideoTagNetImpl::forward(const NetInput& in) {
  if (is_training() && precision_ != Precision::Fp32) {
    throw_error(ErrorKind::Usage, "the network runs at precision " + to_string(precision_) +
                                      ", which is for inference only; training needs fp32 (reload the model)");
  }
  check_input(in);
  const double p = config_.drop_rate;
  const auto text = paddle_dropout(text_feature(in.text_ids, in.text_len, in.text_encoded), p, is_training());
  const auto image_vec = image(in.rgb, in.rgb_len, text, p);
  const auto audio_vec = audio(in.audio, in.audio_len, text, p);
  return classifier(torch::cat({image_vec, audio_vec, text}, 1));
}

torch::Tensor VideoTagNetImpl::probabilities(const torch::Tensor& logits) const {
  return config_.loss_type == "softmax" ? torch::softmax(logits, 1) : torch::sigmoid(logits);
}

torch::Tensor VideoTagNetImpl::loss(const torch::Tensor& logits, const torch::Tensor& labels) const {
  if (!labels.defined() || labels.sizes() != logits.sizes()) {
    bad_input("labels", "expected shape " + shape_string(logits.sizes().vec()) + ", got " +
                            (labels.defined() ? shape_string(labels.sizes().vec()) : std::string("an undefined tensor")));
  }
  const auto y = labels.to(logits.scalar_type());
  if (config_.loss_type == "softmax") {
    const auto normalised = y / y.sum(1, /*keepdim=*/true).clamp_min(1e-12);
    return -(normalised * torch::log_softmax(logits, 1)).sum();
  }
  return torch::binary_cross_entropy_with_logits(logits, y, {}, {}, at::Reduction::Sum);
}

std::vector<std::pair<std::string, torch::Tensor>> VideoTagNetImpl::trainable_parameters() const {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& item : named_parameters()) {
    if (config_.ernie_freeze && item.key().rfind("ernie.", 0) == 0) continue;
    out.emplace_back(item.key(), item.value());
  }
  return out;
}

}  // namespace mvtag
