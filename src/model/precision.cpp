#include "mvtag/model/precision.h"

#include <fstream>
#include <sstream>
#include <string>

#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include "mvtag/core/base/error.h"

namespace mvtag {

namespace {

Int8LinearPtr int8_of(const torch::nn::Linear& fc) {
  return std::make_shared<const Int8Linear>(fc->weight, fc->bias);
}

// A branch projection as SequenceBranch computes it: its own bias (if any) plus the LSTM's gate bias.
Int8LinearPtr int8_projection(const torch::nn::Linear& proj, const PeepholeLstm& lstm) {
  torch::NoGradGuard no_grad;
  const auto bias = proj->bias.defined() ? proj->bias + lstm->bias : lstm->bias;
  return std::make_shared<const Int8Linear>(proj->weight, bias);
}

// Whether the CPU computes bfloat16 natively, from /proc/cpuinfo (x86: avx512_bf16 or amx_bf16;
// Arm: bf16); true when that cannot be told (no warning then).
bool cpu_has_native_bf16() {
  std::ifstream in("/proc/cpuinfo");
  if (!in) return true;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("flags", 0) != 0 && line.rfind("Features", 0) != 0) continue;
    std::istringstream words(line.substr(line.find(':') + 1));
    for (std::string w; words >> w;) {
      if (w == "avx512_bf16" || w == "amx_bf16" || w == "bf16") return true;
    }
    return false;
  }
  return true;
}

void quantize_branch(SequenceBranchImpl& branch) {
  branch.fwd_proj_int8 = int8_projection(branch.fwd_proj, branch.fwd_lstm);
  branch.bwd_proj_int8 = int8_projection(branch.bwd_proj, branch.bwd_lstm);
}

}  // namespace

void check_precision_device(Precision precision, const torch::Device& device, const std::string& from) {
  if (precision == Precision::Int8 && !device.is_cpu()) {
    throw_error(ErrorKind::Usage, "precision int8 (from " + from +
                                      ") runs on the CPU only (LibTorch has no dynamic int8 kernels for " + device.str() +
                                      "); use --device cpu, or --precision bf16 or fp32 on " + device.str());
  }
}

void apply_precision(VideoTagNetImpl& net, Precision precision, const torch::Device& device) {
  check_precision_device(precision, device);
  if (net.precision() != Precision::Fp32 && precision != net.precision()) {
    throw_error(ErrorKind::Usage, "the network already runs at precision " + to_string(net.precision()) +
                                      "; load it again to use " + to_string(precision));
  }
  net.eval();
  if (precision == net.precision()) return;
  torch::NoGradGuard no_grad;
  switch (precision) {
    case Precision::Int8:
      for (const auto& module : *net.ernie->layers) {
        auto& layer = *module->as<ErnieLayer>();
        auto& attention = *layer.attention;
        attention.query_int8 = int8_of(attention.query);
        attention.key_int8 = int8_of(attention.key);
        attention.value_int8 = int8_of(attention.value);
        attention.output_int8 = int8_of(attention.output);
        layer.ffn_in_int8 = int8_of(layer.ffn_in);
        layer.ffn_out_int8 = int8_of(layer.ffn_out);
      }
      quantize_branch(*net.image);
      quantize_branch(*net.audio);
      spdlog::info("precision int8: ERNIE's linear layers and the branch projections run dynamic int8 ({} engine)",
                   int8_engine_name());
      break;
    case Precision::Bf16:
      net.ernie->to(torch::kBFloat16);
      spdlog::info("precision bf16: ERNIE runs in bfloat16 on {}", device.str());
      if (device.is_cpu() && !cpu_has_native_bf16()) {
        spdlog::warn("this CPU has no AVX512-BF16 or AMX: LibTorch emulates bfloat16, which is slower than fp32 "
                     "(use --precision fp32 or int8 here)");
      }
      break;
    case Precision::Fp32:
      break;
  }
  net.set_precision_state(precision);
}

}  // namespace mvtag
