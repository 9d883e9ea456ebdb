// A linear layer y = x·Wᵀ + b with dynamic int8 quantisation, for inference on the CPU
// (`--precision int8`, model/precision.h).
//
// The weight is quantised once, per output channel (row), symmetric: scale_r = max|W_r| / 127,
// zero point 0, so each row keeps its own range (per tensor, one large row would coarsen all
// the others). Each call quantises x per tensor to uint8, asymmetric over [min(x, 0), max(x, 0)]
// (the full 0..255 range, or 0..127 where the engine needs reduce_range), multiplies in
// integers with int32 accumulation and rescales to float32 (bias added in float32).
//
// It runs LibTorch's quantized::linear_prepack / quantized::linear_dynamic through the
// dispatcher (public in LibTorch 1.13 and 2.x), on the current quantized engine (oneDNN on
// Debian's 1.13; x86 or fbgemm on official 2.x builds).
#pragma once

#include <memory>
#include <string>

#include <ATen/core/ivalue.h>
#include <torch/types.h>

namespace mvtag {

class Int8Linear {
 public:
  // weight [out, in], bias [out] or undefined; any floating dtype, on the CPU. Copies nothing
  // that the caller keeps: later changes to `weight` do not reach the packed copy.
  Int8Linear(const torch::Tensor& weight, const torch::Tensor& bias);

  // x [..., in] float → [..., out] float32 (CPU).
  torch::Tensor forward(const torch::Tensor& x) const;

  std::int64_t in_features() const { return in_; }
  std::int64_t out_features() const { return out_; }

 private:
  c10::IValue packed_;  // LinearPackedParamsBase
  std::int64_t in_ = 0, out_ = 0;
  bool reduce_range_ = false;
};

using Int8LinearPtr = std::shared_ptr<const Int8Linear>;

// The name of the quantized engine int8 layers run on ("ONEDNN", "X86", ...).
std::string int8_engine_name();

// The int8 weight Int8Linear uses: per-channel symmetric qint8 as described above.
torch::Tensor quantize_weight_per_channel(const torch::Tensor& weight);

}  // namespace mvtag
