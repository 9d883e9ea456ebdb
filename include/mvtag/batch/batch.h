// What the loader hands to the network: NetInput (the padded tensors the model reads) and Batch
// (a NetInput with its labels and the names of its videos). Shared by the loader and the model,
// so that neither knows the other.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <torch/types.h>

namespace mvtag {

// One padded batch. Lengths are int64 on the same device as the data.
struct NetInput {
  torch::Tensor rgb;        // [B, T, rgb_dim] float, zero-padded
  torch::Tensor rgb_len;    // [B] int64, 1 ≤ len ≤ T
  torch::Tensor audio;      // [B, Ta, audio_dim] float
  torch::Tensor audio_len;  // [B] int64
  torch::Tensor text_ids;   // [B, L] int64: [CLS] … [SEP] then 0-padding; L = the batch's longest title
  torch::Tensor text_len;   // [B] int64, 1 ≤ len ≤ L
  // Optional [B, L, hidden]: ERNIE's output for these titles, already computed (a frozen ERNIE's
  // cache, model/ernie_cache.h). When defined the network skips ERNIE and reads this instead.
  torch::Tensor text_encoded{};

  // Every tensor moved to `device`.
  NetInput to(const torch::Device& device) const;
};

struct Batch {
  NetInput input;                  // CPU tensors, padded to this batch's longest sequences
  torch::Tensor labels;            // [B, num_classes] float multi-hot (zeros in infer mode)
  std::vector<std::size_t> indices;  // dataset positions
  std::vector<std::string> names;    // list-file names
  std::vector<std::string> video_ids;
  std::int64_t size() const { return static_cast<std::int64_t>(indices.size()); }
};

}  // namespace mvtag
