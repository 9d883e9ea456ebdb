#include "mvtag/model/sequence_mask.h"

#include <torch/torch.h>

namespace mvtag {

torch::Tensor sequence_mask(const torch::Tensor& lengths, std::int64_t max_len) {
  return torch::arange(max_len, lengths.options()).unsqueeze(0) < lengths.unsqueeze(1);
}

}  // namespace mvtag
