// Masks from per-sample lengths, for padded [B, T, ...] batches (the LoD replacement).
#pragma once

#include <cstdint>

#include <torch/types.h>

namespace mvtag {

// [B, T] bool: true where t < lengths[b]. Built on the lengths' device.
torch::Tensor sequence_mask(const torch::Tensor& lengths, std::int64_t max_len);

}  // namespace mvtag
