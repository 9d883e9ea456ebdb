// The MultimodalVideoTag network (the original's scenario_lib/models/attention_lstm_ernie.py) on LibTorch.
//
//   text : ERNIE → TextCNN (windows 2,3,4) → Paddle dropout                    → u [B, 3F]
//   image: rgb → {fwd_proj → fwd LSTM, bwd_proj → reverse LSTM} → concat → Paddle dropout
//          → attention pooling guided by u                                      → [B, 2·H_img]
//   audio: the same with its own weights                                        → [B, 2·H_aud]
//   head : classifier([image, audio, u]) → logits [B, num_classes]
//
// Every sequence op masks by length, so a video's output does not depend on its batch-mates or
// on padding. Everything runs on the device the inputs (and the module) are on.
//
// Parameter names (the weight file format; see docs/FORMATS.md): ernie.*, textcnn.*, image.*,
// audio.*, classifier.{weight [C, fusion_dim], bias [C]}.
#pragma once

#include <set>
#include <string>
#include <utility>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>

#include "mvtag/batch/batch.h"
#include "mvtag/core/config/net_config.h"
#include "mvtag/core/config/precision.h"
#include "mvtag/model/ernie.h"
#include "mvtag/model/sequence_branch.h"
#include "mvtag/model/textcnn.h"

namespace mvtag {

// The one parameter the original exempts from L2 decay: the audio forward fc bias, given its own
// L2Decay(0) in scenario_lib/models/attention_lstm_ernie.py.
inline const std::set<std::string>& no_weight_decay_parameters() {
  static const std::set<std::string> names = {"audio.fwd_proj.bias"};
  return names;
}

class VideoTagNetImpl : public torch::nn::Module {
 public:
  // Builds the network with the original's from-scratch initialisation, drawn from LibTorch's
  // global generator (torch::manual_seed makes it reproducible). With config.ernie_freeze the
  // ERNIE parameters do not require gradients.
  explicit VideoTagNetImpl(const NetConfig& config);

  // Logits [B, num_classes]. Throws Error(Data) naming the input on a shape, dtype or length
  // mismatch. In training mode the Paddle dropouts draw masks and ERNIE's dropouts are active
  // (also when frozen, as in the original); a frozen ERNIE runs without autograd. With
  // input.text_encoded defined, ERNIE is not run: TextCNN reads that tensor (see ernie_cache.h).
  torch::Tensor forward(const NetInput& input);

  // The text feature before dropout: TextCNN over ERNIE, [B, 3·filters]. `encoded` (optional)
  // is ERNIE's output computed already.
  torch::Tensor text_feature(const torch::Tensor& ids, const torch::Tensor& lengths,
                             const torch::Tensor& encoded = {});

  // sigmoid (loss_type "sigmoid") or softmax over classes ("softmax").
  torch::Tensor probabilities(const torch::Tensor& logits) const;
  // Summed over classes and batch, as the original. labels [B, C] float multi-hot.
  // sigmoid: binary cross-entropy with logits. softmax: −Σ y·log softmax(z) with each row of
  // labels normalised to sum 1 (1/n per label, as make_one_soft_hot in the original's
  // scenario_lib/datareader/feature_reader.py; already-normalised rows are unchanged).
  torch::Tensor loss(const torch::Tensor& logits, const torch::Tensor& labels) const;

  // The parameters an optimizer should train, by name: all of them, or all but ernie.* when frozen.
  std::vector<std::pair<std::string, torch::Tensor>> trainable_parameters() const;

  const NetConfig& config() const { return config_; }

  // The precision apply_precision (model/precision.h) put the network in; fp32 when built or
  // loaded. Any other is inference only: forward() in training mode is an Error(Usage).
  Precision precision() const { return precision_; }
  void set_precision_state(Precision precision) { precision_ = precision; }

  Ernie ernie{nullptr};
  TextCnn textcnn{nullptr};
  SequenceBranch image{nullptr}, audio{nullptr};
  torch::nn::Linear classifier{nullptr};

 private:
  void check_input(const NetInput& input) const;

  NetConfig config_;
  Precision precision_ = Precision::Fp32;
};
TORCH_MODULE(VideoTagNet);

}  // namespace mvtag
