// Reduced precision for inference (model/int8_linear.h, model/precision.h): the int8 linear
// against a hand-computed dynamic quantisation, the whole network at int8 and bf16 against
// fp32, and what is refused (training, int8 on CUDA, writing a bf16 network).
#include <cmath>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "device_test.h"
#include "model/golden.h"
#include "mvtag/core/base/error.h"
#include "mvtag/model/ernie_cache.h"
#include "mvtag/model/int8_linear.h"
#include "mvtag/model/model_dir.h"
#include "mvtag/model/precision.h"
#include "test_util.h"

using namespace mvtag;
using mvtag::test::Golden;
using mvtag::test::thrown_error;

namespace {

// Dynamic quantisation by hand: W per output row, symmetric int8 (scale max|W_r| / 127); x per
// tensor, asymmetric uint8 over [min(x, 0), max(x, 0)] (qmax 255, or 127 when the engine uses
// reduce_range); the product in integers (exact in double), rescaled, plus the bias.
torch::Tensor reference_int8_linear(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) {
  const auto wd = w.to(torch::kFloat64), xd = x.reshape({-1, w.size(1)}).to(torch::kFloat64);
  const auto w_scale = std::get<0>(wd.abs().max(1)) / 127.0;  // [out]
  const auto w_q = torch::round(wd / w_scale.unsqueeze(1)).clamp(-127, 127);
  const std::string engine = int8_engine_name();
  const double qmax = (engine == "FBGEMM" || engine == "X86") ? 127.0 : 255.0;
  // The scale is computed in float32, as the kernels do.
  const float lo = std::min(x.min().item<float>(), 0.0f), hi = std::max(x.max().item<float>(), 0.0f);
  const double x_scale = static_cast<double>((hi - lo) / static_cast<float>(qmax));
  const double zero = std::nearbyint(-lo / x_scale);
  const auto x_q = (torch::round(xd / x_scale) + zero).clamp(0, qmax);
  const auto acc = torch::matmul(x_q - zero, w_q.t());  // integers
  auto y = acc * x_scale * w_scale.unsqueeze(0) + b.to(torch::kFloat64);
  auto sizes = x.sizes().vec();
  sizes.back() = w.size(0);
  return y.view(sizes);
}

}  // namespace

TEST(Int8Linear, MatchesHandComputedDynamicQuantisation) {
  torch::manual_seed(3);
  const auto w = torch::randn({24, 40}) * 0.05;
  const auto b = torch::randn({24}) * 0.1;
  const auto x = torch::randn({3, 5, 40});  // [..., in]: leading dims are kept
  const Int8Linear q(w, b);
  const auto y = q.forward(x);
  ASSERT_EQ(y.sizes(), (std::vector<std::int64_t>{3, 5, 24}));
  EXPECT_EQ(y.scalar_type(), torch::kFloat32);
  const auto expected = reference_int8_linear(x, w, b);
  // Same integers; only the float32 rescaling differs (~1e-7 relative); 1e-4 leaves room for
  // a rare rounding tie resolved the other way in one element of x.
  EXPECT_LE((y.to(torch::kFloat64) - expected).abs().max().item<double>(), 1e-4);
  // And it is an approximation of the float linear, to about half a quantisation step per term.
  const auto exact = torch::linear(x, w, b);
  const double err = (y - exact).abs().max().item<double>();
  EXPECT_GT(err, 0.0);  // it really is quantised
  EXPECT_LE(err, 0.05);
}

TEST(Int8Linear, WeightsAreQuantisedPerOutputChannel) {
  // One row 1000x larger than the others: per tensor it would round every other row to zero.
  torch::manual_seed(4);
  auto w = torch::randn({8, 32}) * 0.01;
  w[0] *= 1000.0;
  const auto x = torch::randn({6, 32});
  const Int8Linear q(w, torch::Tensor());
  const auto y = q.forward(x), exact = torch::linear(x, w);
  const auto small_rows = torch::arange(1, 8);
  const auto rel = (y.index_select(1, small_rows) - exact.index_select(1, small_rows)).abs().max() /
                   exact.index_select(1, small_rows).abs().max();
  EXPECT_LE(rel.item<double>(), 0.05);
  const auto qw = quantize_weight_per_channel(w);
  EXPECT_EQ(qw.qscheme(), c10::kPerChannelAffine);
  EXPECT_EQ(qw.q_per_channel_zero_points().abs().max().item<std::int64_t>(), 0);
}

namespace {
torch::Tensor probabilities_at(Precision precision, const torch::Device& device) {
  const Golden g("a");
  auto net = g.net(/*freeze=*/true, device);
  apply_precision(*net, precision, device);
  EXPECT_EQ(net->precision(), precision);
  torch::NoGradGuard no_grad;
  return net->probabilities(net->forward(g.input(device))).cpu();
}
}  // namespace

// The stated bound for both precisions on the golden network: max |Δp| ≤ 0.02 against fp32.
constexpr double kMaxProbabilityChange = 0.02;

TEST(Precision, Int8NetworkStaysCloseToFp32) {
  const auto fp32 = probabilities_at(Precision::Fp32, torch::kCPU);
  const auto int8 = probabilities_at(Precision::Int8, torch::kCPU);
  const double diff = (int8 - fp32).abs().max().item<double>();
  EXPECT_GT(diff, 0.0) << "int8 was not applied";
  EXPECT_LE(diff, kMaxProbabilityChange);
  EXPECT_EQ(int8.scalar_type(), torch::kFloat32);
}

class PrecisionOnDevice : public mvtag::test::DeviceTest {};

TEST_P(PrecisionOnDevice, Bf16NetworkStaysCloseToFp32) {
  const torch::Device device = GetParam();
  const auto fp32 = probabilities_at(Precision::Fp32, device);
  const auto bf16 = probabilities_at(Precision::Bf16, device);
  const double diff = (bf16 - fp32).abs().max().item<double>();
  EXPECT_GT(diff, 0.0) << "bf16 was not applied";
  EXPECT_LE(diff, kMaxProbabilityChange);
}

TEST_P(PrecisionOnDevice, TheErnieCacheEncodesAtTheNetworksPrecision) {
  const torch::Device device = GetParam();
  const Golden g("a");
  auto net = g.net(/*freeze=*/true, device);
  apply_precision(*net, Precision::Bf16, device);
  const auto ids = g.get("text_ids"), len = g.get("text_len");
  std::vector<TextRecord> titles;
  for (std::int64_t b = 0; b < ids.size(0); ++b) {
    TextRecord t;
    const auto n = len[b].item<std::int64_t>();
    for (std::int64_t i = 0; i < n; ++i) t.token_ids.push_back(ids[b][i].item<std::int64_t>());
    titles.push_back(t);
  }
  ErnieCache cache(*net->ernie, titles, /*pad_id=*/0, device, {});
  std::vector<std::size_t> keys(titles.size());
  for (std::size_t i = 0; i < keys.size(); ++i) keys[i] = i;
  torch::NoGradGuard no_grad;
  const auto cached = cache.encode(keys, ids.to(device), len.to(device));
  const auto direct = net->ernie(ids.to(device), len.to(device));
  EXPECT_EQ(direct.scalar_type(), torch::kFloat32);
  const auto mask = (torch::arange(ids.size(1)).unsqueeze(0) < len.unsqueeze(1)).unsqueeze(2).to(device);
  EXPECT_LE(((cached - direct) * mask).abs().max().item<double>(), 1e-2);
}

MVTAG_INSTANTIATE_DEVICE_TESTS(PrecisionOnDevice);

TEST(Precision, ReducedPrecisionRefusesTraining) {
  const Golden g("a");
  for (const Precision p : {Precision::Int8, Precision::Bf16}) {
    auto net = g.net();
    apply_precision(*net, p, torch::kCPU);
    net->train();
    const Error e = thrown_error([&] { net->forward(g.input()); }, ErrorKind::Usage);
    test::expect_message_contains(e, {to_string(p), "inference only"});
  }
  auto net = g.net();
  apply_precision(*net, Precision::Fp32, torch::kCPU);
  net->train();
  EXPECT_NO_THROW(net->forward(g.input()));
}

TEST(Precision, Int8OnCudaIsAUsageErrorBeforeTouchingTheDevice) {
  // The check looks at the device only, so it needs no GPU.
  const torch::Device cuda(torch::kCUDA, 0);
  const Error e = thrown_error([&] { check_precision_device(Precision::Int8, cuda); }, ErrorKind::Usage);
  test::expect_message_contains(e, {"int8", "CPU only", "cuda:0", "from --precision"});
  test::expect_message_contains(
      thrown_error([&] { check_precision_device(Precision::Int8, cuda, "m/inference.json"); }),
      {"from m/inference.json"});
  const Golden g("a");
  auto net = g.net();  // on the CPU; apply_precision checks before it converts anything
  thrown_error([&] { apply_precision(*net, Precision::Int8, cuda); }, ErrorKind::Usage);
  EXPECT_EQ(net->precision(), Precision::Fp32);
  EXPECT_NO_THROW(check_precision_device(Precision::Bf16, cuda));
  EXPECT_NO_THROW(check_precision_device(Precision::Fp32, cuda));
}

TEST(Precision, OnePrecisionPerLoadedNetwork) {
  const Golden g("a");
  auto net = g.net();
  apply_precision(*net, Precision::Int8, torch::kCPU);
  EXPECT_NO_THROW(apply_precision(*net, Precision::Int8, torch::kCPU));
  thrown_error([&] { apply_precision(*net, Precision::Bf16, torch::kCPU); }, ErrorKind::Usage);
}

TEST(Precision, ABf16NetworkIsNotWrittenAndAnInt8OneStaysFloat32) {
  const Golden g("a");
  test::TempDir dir;
  auto bf16 = g.net();
  apply_precision(*bf16, Precision::Bf16, torch::kCPU);
  const Vocab vocab = Vocab::from_tokens({"[PAD]", "[CLS]", "[SEP]", "[UNK]"});
  const ClassMap classes;
  thrown_error([&] { write_model_files(dir.path(), *bf16, vocab, classes); }, ErrorKind::Usage);
  auto int8 = g.net();
  apply_precision(*int8, Precision::Int8, torch::kCPU);
  for (const auto& p : int8->parameters()) EXPECT_EQ(p.scalar_type(), torch::kFloat32);
}
