#include "mvtag/model/ernie_cache.h"

#include <algorithm>
#include <stdexcept>

#include <torch/torch.h>

#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>

#include "mvtag/core/base/error.h"
#include "mvtag/core/report/progress.h"

namespace mvtag {

namespace {
// Restores a module's training flag when it goes.
class EvalModeGuard {
 public:
  explicit EvalModeGuard(torch::nn::Module& m) : module_(m), was_training_(m.is_training()) { module_.eval(); }
  ~EvalModeGuard() { module_.train(was_training_); }
  EvalModeGuard(const EvalModeGuard&) = delete;
  EvalModeGuard& operator=(const EvalModeGuard&) = delete;

 private:
  torch::nn::Module& module_;
  bool was_training_;
};
}  // namespace

torch::Tensor ErnieCache::run_ernie(const torch::Tensor& ids, const torch::Tensor& lengths) {
  const EvalModeGuard eval(ernie_);
  torch::NoGradGuard no_grad;
  return ernie_.forward(ids, lengths);
}

ErnieCache::ErnieCache(ErnieImpl& ernie, const std::vector<TextRecord>& titles, std::int64_t pad_id,
                       const torch::Device& device, const ErnieCacheOptions& options)
    : ernie_(ernie), hidden_(ernie.config().hidden_size), device_(device) {
  stats_.titles = titles.size();
  offset_.assign(titles.size(), -1);
  length_.assign(titles.size(), 0);
  const std::size_t row_bytes = static_cast<std::size_t>(hidden_) * (options.fp16 ? 2 : 4);
  // The titles that fit, in data set order.
  std::int64_t rows = 0;
  std::size_t fit = 0;
  for (; fit < titles.size(); ++fit) {
    const auto n = static_cast<std::int64_t>(titles[fit].length());
    if (static_cast<std::size_t>(rows + n + 1) * row_bytes > options.budget_bytes) break;
    offset_[fit] = rows;
    length_[fit] = n;
    rows += n;
  }
  stats_.cached = fit;
  stats_.bytes = static_cast<std::size_t>(rows + 1) * row_bytes;
  rows_ = torch::zeros({rows + 1, hidden_}, torch::TensorOptions(device).dtype(options.fp16 ? torch::kHalf : torch::kFloat32));
  const std::size_t chunk = std::max<std::size_t>(1, options.chunk);
  const auto shards = static_cast<std::size_t>(std::max(1, options.num_shards));
  const auto shard = static_cast<std::size_t>(std::max(0, options.shard));
  if (shards > 1 && !options.sum) throw std::logic_error("ErnieCache: shards need a sum over the ranks");
  std::size_t mine = 0;  // titles this shard encodes
  for (std::size_t first = 0, c = 0; first < fit; first += chunk, ++c) {
    if (c % shards == shard) mine += std::min(fit, first + chunk) - first;
  }
  Progress progress(options.label.empty() ? "encoding titles" : "encoding " + options.label,
                    static_cast<std::int64_t>(mine), "titles");
  // Chunks of titles of similar length (shortest first; ties in data set order): little padding,
  // and the chunks depend only on the data set, so the stored values do too.
  std::vector<std::size_t> order(fit);
  for (std::size_t k = 0; k < fit; ++k) order[k] = k;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return length_[a] < length_[b]; });
  for (std::size_t first = 0; first < fit; first += chunk) {
    if ((first / chunk) % shards != shard) continue;  // another rank's chunk
    const std::size_t last = std::min(fit, first + chunk);
    std::int64_t longest = 0;
    for (std::size_t j = first; j < last; ++j) longest = std::max(longest, length_[order[j]]);
    auto ids = torch::full({static_cast<std::int64_t>(last - first), longest}, pad_id, torch::kInt64);
    auto lens = torch::empty({static_cast<std::int64_t>(last - first)}, torch::kInt64);
    for (std::size_t j = first; j < last; ++j) {
      const auto& tok = titles[order[j]].token_ids;
      const auto row = static_cast<std::int64_t>(j - first);
      std::copy(tok.begin(), tok.end(), ids[row].data_ptr<std::int64_t>());
      lens[row] = length_[order[j]];
    }
    const torch::Tensor out = run_ernie(ids.to(device), lens.to(device));  // [n, longest, hidden]
    for (std::size_t j = first; j < last; ++j) {
      const std::size_t k = order[j];
      rows_.narrow(0, offset_[k] + 1, length_[k])
          .copy_(out[static_cast<std::int64_t>(j - first)].narrow(0, 0, length_[k]));
    }
    progress.advance(static_cast<std::int64_t>(last - first));
  }
  if (shards > 1) options.sum(rows_);  // the other ranks' chunks into their (zero) rows
  stats_.fill_seconds = progress.finish();
  spdlog::info("ERNIE cache{}: {} of {} titles stored ({:.1f} MB {}, budget {:.0f} MB){}",
               options.label.empty() ? "" : " for " + options.label, stats_.cached, stats_.titles,
               static_cast<double>(stats_.bytes) / (1 << 20), options.fp16 ? "float16" : "float32",
               static_cast<double>(options.budget_bytes) / (1 << 20),
               stats_.cached < stats_.titles ? "; the rest are encoded with their batch every time" : "");
}

torch::Tensor ErnieCache::encode(const std::vector<std::size_t>& keys, const torch::Tensor& ids,
                                 const torch::Tensor& lengths) {
  const auto b = ids.size(0), l = ids.size(1);
  if (static_cast<std::int64_t>(keys.size()) != b) {
    throw_error(ErrorKind::Runtime, fmt::format("ErnieCache::encode: {} keys for a batch of {}", keys.size(), b));
  }
  // Row indices into rows_ ([B, L]; 0 = the zero row) and the batch rows that are not stored.
  auto index = torch::zeros({b, l}, torch::kInt64);
  auto* idx = index.data_ptr<std::int64_t>();
  std::vector<std::int64_t> missing;
  for (std::int64_t i = 0; i < b; ++i) {
    const std::size_t k = keys[static_cast<std::size_t>(i)];
    if (k >= offset_.size()) {
      throw_error(ErrorKind::Runtime, fmt::format("ErnieCache::encode: title {} is not in the data set ({} titles)", k,
                                                  offset_.size()));
    }
    if (offset_[k] < 0) {
      missing.push_back(i);
      continue;
    }
    const std::int64_t n = std::min(length_[k], l);
    for (std::int64_t t = 0; t < n; ++t) idx[i * l + t] = offset_[k] + 1 + t;
  }
  torch::Tensor out =
      rows_.index_select(0, index.view({-1}).to(rows_.device())).view({b, l, hidden_}).to(ids.device(), torch::kFloat32);
  if (!missing.empty()) {
    const auto rows = torch::tensor(missing, torch::kInt64).to(ids.device());
    out.index_copy_(0, rows, run_ernie(ids.index_select(0, rows), lengths.index_select(0, rows)));
    stats_.encoded_later += missing.size();
  }
  return out;
}

}  // namespace mvtag
