#include "mvtag/model/int8_linear.h"

#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/core/stack.h>
#include <torch/torch.h>

#include "mvtag/core/base/error.h"

namespace mvtag {

namespace {

// The quantized operators are registered when LibTorch is loaded; each is looked up once.
const c10::OperatorHandle& prepack_op() {
  static const c10::OperatorHandle handle =
      c10::Dispatcher::singleton().findSchemaOrThrow("quantized::linear_prepack", "");
  return handle;
}

const c10::OperatorHandle& dynamic_op() {
  static const c10::OperatorHandle handle =
      c10::Dispatcher::singleton().findSchemaOrThrow("quantized::linear_dynamic", "");
  return handle;
}

bool engine_needs_reduce_range() {
  // fbgemm (also under the x86 engine) multiplies uint8 by int8 pairwise into int16 on CPUs
  // without VNNI, which can saturate with 8-bit activations; 7 bits cannot. oneDNN and QNNPACK
  // take the full range.
  const auto engine = at::globalContext().qEngine();
  return engine == c10::QEngine::FBGEMM || engine == c10::QEngine::X86;
}

}  // namespace

std::string int8_engine_name() { return c10::toString(at::globalContext().qEngine()); }

torch::Tensor quantize_weight_per_channel(const torch::Tensor& weight) {
  const auto w = weight.detach().to(torch::kCPU, torch::kFloat32).contiguous();
  // An all-zero row gets a tiny scale instead of 0 (quantize_per_channel rejects 0).
  const auto scales = (std::get<0>(w.abs().max(1)) / 127.0).clamp_min(1e-12).to(torch::kFloat64);
  const auto zero_points = torch::zeros({w.size(0)}, torch::kInt64);
  return at::quantize_per_channel(w, scales, zero_points, /*axis=*/0, torch::kQInt8);
}

Int8Linear::Int8Linear(const torch::Tensor& weight, const torch::Tensor& bias)
    : reduce_range_(engine_needs_reduce_range()) {
  if (weight.dim() != 2 || !weight.device().is_cpu() || (bias.defined() && bias.numel() != weight.size(0))) {
    throw_error(ErrorKind::Runtime, "Int8Linear needs a CPU weight [out, in] and a bias [out]");
  }
  in_ = weight.size(1);
  out_ = weight.size(0);
  torch::jit::Stack stack;
  stack.emplace_back(quantize_weight_per_channel(weight));
  if (bias.defined()) {
    stack.emplace_back(bias.detach().to(torch::kCPU, torch::kFloat32).contiguous().clone());
  } else {
    stack.emplace_back(c10::IValue());
  }
  prepack_op().callBoxed(stack);
  packed_ = std::move(stack.at(0));
}

torch::Tensor Int8Linear::forward(const torch::Tensor& x) const {
  auto sizes = x.sizes().vec();
  const auto flat = x.to(torch::kFloat32).reshape({-1, in_}).contiguous();
  torch::jit::Stack stack{flat, packed_, reduce_range_};
  dynamic_op().callBoxed(stack);
  sizes.back() = out_;
  return stack.at(0).toTensor().view(sizes);
}

}  // namespace mvtag
