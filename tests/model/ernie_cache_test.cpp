// The frozen ERNIE's cache (model/ernie_cache.h): what it gives equals ERNIE in eval mode on the
// batch, whatever is stored and however it was filled; the network reads it in place of ERNIE.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <numeric>

#include "device_test.h"
#include "mvtag/core/base/error.h"
#include "mvtag/model/ernie_cache.h"
#include "mvtag/model/model.h"
#include "test_util.h"
#include "tiny_config.h"

using namespace mvtag;
using mvtag::test::thrown_error;
using mvtag::test::tiny_net_config;

namespace {

constexpr std::int64_t kPad = 0;

// Titles of 2..10 tokens: [CLS]=1, random ids, [SEP]=2.
std::vector<TextRecord> titles(std::size_t n, unsigned seed) {
  torch::manual_seed(seed);
  std::vector<TextRecord> out(n);
  for (std::size_t i = 0; i < n; ++i) {
    const auto len = 2 + static_cast<std::int64_t>(i * 7 % 9);
    auto& ids = out[i].token_ids;
    ids.push_back(1);
    for (std::int64_t t = 1; t + 1 < len; ++t) ids.push_back(torch::randint(4, 40, {1}).item<std::int64_t>());
    ids.push_back(2);
  }
  return out;
}

// The batch of the given titles, padded as the loader pads it (with junk after the end).
std::pair<torch::Tensor, torch::Tensor> batch_of(const std::vector<TextRecord>& all, const std::vector<std::size_t>& keys,
                                                 const torch::Device& device) {
  std::int64_t l = 0;
  for (auto k : keys) l = std::max<std::int64_t>(l, static_cast<std::int64_t>(all[k].length()));
  auto ids = torch::full({static_cast<std::int64_t>(keys.size()), l}, 3, torch::kInt64);
  auto lens = torch::empty({static_cast<std::int64_t>(keys.size())}, torch::kInt64);
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const auto& t = all[keys[i]].token_ids;
    for (std::size_t j = 0; j < t.size(); ++j) ids[static_cast<std::int64_t>(i)][static_cast<std::int64_t>(j)] = t[j];
    lens[static_cast<std::int64_t>(i)] = static_cast<std::int64_t>(t.size());
  }
  return {ids.to(device), lens.to(device)};
}

// ERNIE in eval mode on the batch, rows past each title's end zeroed.
torch::Tensor reference(ErnieImpl& ernie, const torch::Tensor& ids, const torch::Tensor& lens) {
  const bool was = ernie.is_training();
  ernie.eval();
  torch::NoGradGuard no_grad;
  auto out = ernie.forward(ids, lens);
  ernie.train(was);
  const auto steps = torch::arange(ids.size(1), lens.options()).unsqueeze(0);
  return out.masked_fill((steps >= lens.unsqueeze(1)).unsqueeze(2), 0.0);
}

float max_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.cpu() - b.cpu()).abs().max().item<float>();
}

class ErnieCacheOnDevice : public mvtag::test::DeviceTest {};

}  // namespace

TEST_P(ErnieCacheOnDevice, GivesErniesEvalOutputForEveryTitleStoredOrNot) {
  const torch::Device device = GetParam();
  torch::manual_seed(1);
  VideoTagNet net(tiny_net_config());
  net->to(device);
  net->train();  // the cache must run ERNIE in eval mode regardless, and leave the flag alone
  const auto all = titles(20, 2);
  ErnieCacheOptions o;
  o.chunk = 3;
  o.budget_bytes = 60 * 16 * 4;  // room for some titles only
  ErnieCache cache(*net->ernie, all, kPad, device, o);
  EXPECT_GT(cache.stats().cached, 0u);
  EXPECT_LT(cache.stats().cached, all.size());
  EXPECT_TRUE(net->ernie->is_training());
  const std::vector<std::size_t> keys = {19, 0, 7, 3, 18, 1};  // stored and not, out of order
  const auto [ids, lens] = batch_of(all, keys, device);
  const torch::Tensor got = cache.encode(keys, ids, lens);
  EXPECT_EQ(got.device(), device);
  EXPECT_EQ(got.sizes(), (std::vector<std::int64_t>{6, ids.size(1), 16}));
  // Rows past the ends are free (TextCNN zeroes them); compare the real ones.
  const auto steps = torch::arange(ids.size(1), lens.options()).unsqueeze(0);
  const auto real = got.masked_fill((steps >= lens.unsqueeze(1)).unsqueeze(2), 0.0);
  EXPECT_LE(max_diff(real, reference(*net->ernie, ids, lens)), 1e-5f);
  EXPECT_GT(cache.stats().encoded_later, 0u);
  EXPECT_TRUE(net->ernie->is_training());
}

TEST_P(ErnieCacheOnDevice, StoredValuesDoNotDependOnHowTheCacheWasFilled) {
  const torch::Device device = GetParam();
  torch::manual_seed(1);
  VideoTagNet net(tiny_net_config());
  net->to(device);
  const auto all = titles(12, 3);
  ErnieCacheOptions one, many;
  one.chunk = 1;
  many.chunk = 64;
  ErnieCache a(*net->ernie, all, kPad, device, one), b(*net->ernie, all, kPad, device, many);
  std::vector<std::size_t> keys(all.size());
  std::iota(keys.begin(), keys.end(), 0);
  const auto [ids, lens] = batch_of(all, keys, device);
  EXPECT_LE(max_diff(a.encode(keys, ids, lens), b.encode(keys, ids, lens)), 1e-5f);
  EXPECT_EQ(a.stats().cached, all.size());
  EXPECT_EQ(a.stats().encoded_later, 0u);
}

TEST_P(ErnieCacheOnDevice, ShardsEncodeTheirChunksAndTheSumCompletesTheCache) {
  // Data parallelism without ranks: three shards fill in turn; each one's sum sees only its own
  // rows (a capture). Shard 0 is then filled again with a sum that adds the other two's rows,
  // which must give the whole cache: every chunk encoded by exactly one shard, zeros elsewhere.
  const torch::Device device = GetParam();
  torch::manual_seed(1);
  VideoTagNet net(tiny_net_config());
  net->to(device);
  const auto all = titles(12, 5);
  ErnieCacheOptions whole;
  whole.chunk = 2;
  ErnieCache reference_cache(*net->ernie, all, kPad, device, whole);
  std::vector<torch::Tensor> rows(3);
  for (int shard = 0; shard < 3; ++shard) {
    ErnieCacheOptions o = whole;
    o.num_shards = 3;
    o.shard = shard;
    o.sum = [&](torch::Tensor& t) { rows[static_cast<std::size_t>(shard)] = t.clone(); };
    ErnieCache part(*net->ernie, all, kPad, device, o);
  }
  for (const auto& r : rows) EXPECT_GT(r.abs().sum().item<float>(), 0.0f) << "every shard encoded something";
  ErnieCacheOptions o = whole;
  o.num_shards = 3;
  o.shard = 0;
  o.sum = [&](torch::Tensor& t) { t.add_(rows[1]).add_(rows[2]); };
  ErnieCache completed(*net->ernie, all, kPad, device, o);
  std::vector<std::size_t> keys(all.size());
  std::iota(keys.begin(), keys.end(), 0);
  const auto [ids, lens] = batch_of(all, keys, device);
  EXPECT_LE(max_diff(completed.encode(keys, ids, lens), reference_cache.encode(keys, ids, lens)), 1e-6f);
  o.sum = nullptr;
  EXPECT_THROW(ErnieCache(*net->ernie, all, kPad, device, o), std::logic_error);
}

TEST_P(ErnieCacheOnDevice, Float16HalvesTheMemoryAndRoundsOnly) {
  const torch::Device device = GetParam();
  torch::manual_seed(1);
  VideoTagNet net(tiny_net_config());
  net->to(device);
  const auto all = titles(10, 4);
  ErnieCacheOptions f32, f16;
  f16.fp16 = true;
  ErnieCache a(*net->ernie, all, kPad, device, f32), b(*net->ernie, all, kPad, device, f16);
  EXPECT_EQ(2 * b.stats().bytes, a.stats().bytes);
  std::vector<std::size_t> keys = {4, 2, 9};
  const auto [ids, lens] = batch_of(all, keys, device);
  const auto x = a.encode(keys, ids, lens), y = b.encode(keys, ids, lens);
  EXPECT_EQ(y.scalar_type(), torch::kFloat32);
  const float d = max_diff(x, y);
  EXPECT_GT(d, 0.0f);  // it did round
  EXPECT_LE(d, 5e-3f);  // LayerNorm outputs of magnitude < 4: half precision keeps ~3 digits
}

TEST_P(ErnieCacheOnDevice, TheNetworkReadsTheCacheInsteadOfErnie) {
  const torch::Device device = GetParam();
  torch::manual_seed(1);
  VideoTagNet net(tiny_net_config());
  net->to(device);
  net->eval();
  const auto all = titles(5, 5);
  ErnieCache cache(*net->ernie, all, kPad, device, {});
  const std::vector<std::size_t> keys = {3, 1, 4};
  const auto [ids, lens] = batch_of(all, keys, device);
  torch::manual_seed(6);
  NetInput in{torch::randn({3, 4, 12}, device), torch::tensor({4L, 1L, 2L}, torch::kInt64).to(device),
              torch::randn({3, 3, 6}, device), torch::tensor({3L, 2L, 1L}, torch::kInt64).to(device), ids, lens};
  torch::NoGradGuard no_grad;
  const auto plain = net->forward(in);
  in.text_encoded = cache.encode(keys, ids, lens);
  EXPECT_LE(max_diff(net->forward(in), plain), 1e-5f);
  // A cache that does not fit the batch is refused by name.
  in.text_encoded = torch::zeros({3, ids.size(1), 15}, device);
  const Error e = thrown_error([&] { net->forward(in); }, ErrorKind::Data);
  EXPECT_EQ(e.where().tensor, "text_encoded");
}

TEST(ErnieCache, ABudgetOfZeroStoresNothingAndStillAnswers) {
  torch::manual_seed(1);
  VideoTagNet net(tiny_net_config());
  const auto all = titles(4, 7);
  ErnieCacheOptions o;
  o.budget_bytes = 0;
  ErnieCache cache(*net->ernie, all, kPad, torch::kCPU, o);
  EXPECT_EQ(cache.stats().cached, 0u);
  const std::vector<std::size_t> keys = {2, 0};
  const auto [ids, lens] = batch_of(all, keys, torch::kCPU);
  const auto got = cache.encode(keys, ids, lens);
  const auto steps = torch::arange(ids.size(1), lens.options()).unsqueeze(0);
  EXPECT_LE(max_diff(got.masked_fill((steps >= lens.unsqueeze(1)).unsqueeze(2), 0.0), reference(*net->ernie, ids, lens)),
            1e-6f);
  EXPECT_EQ(cache.stats().encoded_later, 2u);
  EXPECT_THROW(cache.encode({9, 0}, ids, lens), Error);  // a key outside the data set
}

MVTAG_INSTANTIATE_DEVICE_TESTS(ErnieCacheOnDevice);
