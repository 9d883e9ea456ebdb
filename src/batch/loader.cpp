#include "mvtag/batch/loader.h"

#include <algorithm>
#include <stdexcept>
#include <tuple>

#include <spdlog/spdlog.h>

#include "mvtag/core/base/error.h"

namespace mvtag {

namespace {

std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Uniform in [0, bound) without modulo bias.
std::uint64_t bounded(std::uint64_t& state, std::uint64_t bound) {
  const std::uint64_t limit = ~std::uint64_t{0} - (~std::uint64_t{0} % bound);
  std::uint64_t x;
  do {
    x = splitmix64(state);
  } while (x >= limit);
  return x % bound;
}

// A tensor that owns `values` without copying them. The loader threads build batches with plain
// vectors and wrap them here, so they never run an ATen kernel: those would start OpenMP teams of
// their own on each worker thread and fight the model's threads for the cores.
template <typename T>
torch::Tensor owning_tensor(std::vector<T>&& values, std::vector<std::int64_t> sizes, torch::ScalarType type) {
  // An empty vector's data() is null, and from_blob never calls the deleter of a null pointer:
  // the vector would leak (found by LeakSanitizer, scripts/sanitize.sh).
  if (values.empty()) return torch::empty(sizes, torch::TensorOptions().dtype(type));
  auto* heap = new std::vector<T>(std::move(values));
  return torch::from_blob(heap->data(), sizes, [heap](void*) { delete heap; }, torch::TensorOptions().dtype(type));
}

torch::Tensor pad_features(const std::vector<Sample>& samples, bool rgb, torch::Tensor& lengths) {
  const std::int64_t b = static_cast<std::int64_t>(samples.size());
  std::int64_t t_max = 1, width = -1;
  for (const auto& s : samples) {
    const FeatureMatrix& m = rgb ? s.rgb : s.audio;
    t_max = std::max(t_max, m.rows);
    if (width >= 0 && m.cols != width) {
      throw_error(ErrorKind::Data, std::string(rgb ? "rgb" : "audio") + " features of '" + s.name + "' are " +
                                       std::to_string(m.cols) + " wide, the batch's are " + std::to_string(width));
    }
    width = m.cols;
  }
  width = std::max<std::int64_t>(width, 0);
  std::vector<float> out(static_cast<std::size_t>(b * t_max * width), 0.0f);
  std::vector<std::int64_t> len(static_cast<std::size_t>(b));
  for (std::int64_t i = 0; i < b; ++i) {
    const FeatureMatrix& m = rgb ? samples[i].rgb : samples[i].audio;
    std::copy(m.data.begin(), m.data.end(), out.begin() + i * t_max * width);
    len[i] = m.rows;
  }
  lengths = owning_tensor(std::move(len), {b}, torch::kInt64);
  return owning_tensor(std::move(out), {b, t_max, width}, torch::kFloat32);
}

}  // namespace

std::vector<std::size_t> epoch_order(std::size_t n, bool shuffle, std::uint64_t seed, std::int64_t epoch) {
  std::vector<std::size_t> order(n);
  for (std::size_t i = 0; i < n; ++i) order[i] = i;
  if (!shuffle) return order;
  std::uint64_t state = seed;
  splitmix64(state);
  state ^= static_cast<std::uint64_t>(epoch) * 0xd1b54a32d192ed03ULL;
  for (std::size_t i = n; i > 1; --i) {
    std::swap(order[i - 1], order[bounded(state, i)]);
  }
  return order;
}

std::vector<std::size_t> bucket_order(const std::vector<VideoLengths>& videos, Bucketing bucketing) {
  std::vector<std::size_t> order(videos.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  if (bucketing == Bucketing::None) return order;
  auto key = [&](std::size_t i) {
    const VideoLengths& v = videos[i];
    return bucketing == Bucketing::Title ? std::make_tuple(v.title, v.frames, v.audio, v.index)
                                         : std::make_tuple(v.frames, v.audio, v.title, v.index);
  };
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return key(a) < key(b); });
  return order;
}

std::vector<std::size_t> bucket_order(const std::vector<Sample>& samples, Bucketing bucketing) {
  std::vector<VideoLengths> videos;
  videos.reserve(samples.size());
  for (const Sample& s : samples) {
    videos.push_back({static_cast<std::int64_t>(s.text.length()), s.rgb.rows, s.audio.rows, s.index});
  }
  return bucket_order(videos, bucketing);
}

Batch collate(std::vector<Sample> samples, int num_classes, std::int64_t pad_id) {
  Batch batch;
  const std::int64_t b = static_cast<std::int64_t>(samples.size());
  batch.input.rgb = pad_features(samples, true, batch.input.rgb_len);
  batch.input.audio = pad_features(samples, false, batch.input.audio_len);

  std::int64_t l_max = 1;
  for (const auto& s : samples) l_max = std::max<std::int64_t>(l_max, static_cast<std::int64_t>(s.text.length()));
  std::vector<std::int64_t> ids(static_cast<std::size_t>(b * l_max), pad_id);
  std::vector<std::int64_t> tlen(static_cast<std::size_t>(b));
  std::vector<float> labels(static_cast<std::size_t>(b * num_classes), 0.0f);
  for (std::int64_t i = 0; i < b; ++i) {
    Sample& s = samples[i];
    std::copy(s.text.token_ids.begin(), s.text.token_ids.end(), ids.begin() + i * l_max);
    tlen[i] = static_cast<std::int64_t>(s.text.length());
    for (int c : s.labels) labels[i * num_classes + c] = 1.0f;
    batch.indices.push_back(s.index);
    batch.names.push_back(std::move(s.name));
    batch.video_ids.push_back(std::move(s.video_id));
  }
  batch.input.text_ids = owning_tensor(std::move(ids), {b, l_max}, torch::kInt64);
  batch.input.text_len = owning_tensor(std::move(tlen), {b}, torch::kInt64);
  batch.labels = owning_tensor(std::move(labels), {b, num_classes}, torch::kFloat32);
  return batch;
}

Loader::Loader(const Dataset& dataset, LoaderOptions options, std::int64_t pad_id)
    : dataset_(dataset), options_(options), pad_id_(pad_id) {
  if (options_.batch_size == 0) throw_error(ErrorKind::Config, "batch size must be at least 1");
  if (options_.prefetch == 0) options_.prefetch = 1;
  if (options_.bucket_pool == 0) options_.bucket_pool = 1;
  if (options_.num_shards < 1 || options_.shard < 0 || options_.shard >= options_.num_shards) {
    throw std::logic_error("Loader: shard outside [0, num_shards)");
  }
  if (options_.shuffle && options_.bucketing != Bucketing::None) {
    throw std::logic_error("Loader: length bucketing is for passes without shuffle");
  }
}

Loader::~Loader() { stop_workers(); }

std::size_t Loader::batches_per_epoch() const {
  return (dataset_.size() + options_.batch_size - 1) / options_.batch_size;
}

std::pair<std::size_t, std::size_t> Loader::shard_part(std::size_t b) const {
  const auto shards = static_cast<std::size_t>(options_.num_shards);
  const auto shard = static_cast<std::size_t>(options_.shard);
  const std::size_t begin = b * options_.batch_size;
  const std::size_t m = std::min(begin + options_.batch_size, dataset_.size()) - begin;
  return {begin + m * shard / shards, begin + m * (shard + 1) / shards};
}

std::size_t Loader::samples_per_epoch() const {
  std::size_t total = 0;
  for (std::size_t b = 0; b < batches_per_epoch(); ++b) {
    const auto [first, last] = shard_part(b);
    total += last - first;
  }
  return total;
}

void Loader::stop_workers() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : workers_) t.join();
  workers_.clear();
  stopping_ = false;
}

void Loader::start_epoch(std::int64_t epoch, std::size_t skip_batches) {
  stop_workers();
  if (skip_batches != 0 && reorders()) throw std::logic_error("Loader: a bucketed pass cannot resume mid-epoch");
  order_ = epoch_order(dataset_.size(), options_.shuffle, options_.seed, options_.reshuffle ? epoch : 0);
  if (options_.bucketing == Bucketing::Title) {
    // Titles are tokenized already: sort the whole list by length, so each pool holds similar titles.
    std::stable_sort(order_.begin(), order_.end(), [&](std::size_t a, std::size_t b) {
      return dataset_.text(a).length() < dataset_.text(b).length();
    });
  }
  num_batches_ = batches_per_epoch();
  next_batch_ = next_claim_ = std::min(skip_batches, num_batches_);
  ready_.clear();
  skipped_.clear();
  failure_ = nullptr;
  for (int i = 0; i < options_.num_workers; ++i) workers_.emplace_back([this] { worker_loop(); });
}

std::vector<Loader::Slot> Loader::load_unit(std::size_t first) const {
  const std::size_t count = std::min(unit_batches(), num_batches_ - first);
  std::vector<Slot> slots(count);
  std::vector<std::size_t> capacity(count);  // samples of each batch this shard reads
  std::vector<Sample> samples;
  for (std::size_t b = 0; b < count; ++b) {
    const auto [part_begin, part_end] = shard_part(first + b);
    capacity[b] = part_end - part_begin;
    for (std::size_t k = part_begin; k < part_end; ++k) {
      try {
        samples.push_back(dataset_.load(order_[k]));
      } catch (const Error& e) {
        slots.front().errors.push_back(dataset_.item(order_[k]).name + ": " + e.what());
      }
    }
  }
  // The pool sorted by length (bucketing), then cut into the batches; samples that could not be
  // read leave the last batches of the pool short.
  const std::vector<std::size_t> order = bucket_order(samples, options_.bucketing);
  std::size_t k = 0;
  for (std::size_t b = 0; b < count; ++b) {
    std::vector<Sample> part;
    for (std::size_t end = std::min(k + capacity[b], order.size()); k < end; ++k) {
      part.push_back(std::move(samples[order[k]]));
    }
    slots[b].batch = collate(std::move(part), dataset_.num_classes(), pad_id_);
  }
  return slots;
}

void Loader::worker_loop() {
  const std::size_t window = options_.prefetch * static_cast<std::size_t>(std::max(1, options_.num_workers));
  for (;;) {
    std::size_t b;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      cv_.wait(lock, [&] { return stopping_ || next_claim_ >= num_batches_ || next_claim_ < next_batch_ + window; });
      if (stopping_ || next_claim_ >= num_batches_) return;
      b = next_claim_;
      next_claim_ = std::min(num_batches_, next_claim_ + unit_batches());
    }
    std::vector<Slot> slots;
    try {
      slots = load_unit(b);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!failure_) failure_ = std::current_exception();
      cv_.notify_all();
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      for (std::size_t i = 0; i < slots.size(); ++i) ready_.emplace(b + i, std::move(slots[i]));
    }
    cv_.notify_all();
  }
}

std::optional<Batch> Loader::next() {
  while (next_batch_ < num_batches_) {
    Slot slot;
    const std::size_t b = next_batch_;
    if (options_.num_workers <= 0) {
      if (ready_.count(b) == 0) {  // the calling thread loads the unit that starts here
        std::vector<Slot> slots = load_unit(b);
        for (std::size_t i = 0; i < slots.size(); ++i) ready_.emplace(b + i, std::move(slots[i]));
      }
      auto it = ready_.find(b);
      slot = std::move(it->second);
      ready_.erase(it);
    } else {
      std::unique_lock<std::mutex> lock(mutex_);
      cv_.wait(lock, [&] { return failure_ || ready_.count(b) != 0; });
      if (failure_) std::rethrow_exception(failure_);
      auto it = ready_.find(b);
      slot = std::move(it->second);
      ready_.erase(it);
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ++next_batch_;
      if (options_.num_workers <= 0) next_claim_ = std::max(next_claim_, next_batch_);
    }
    cv_.notify_all();
    for (auto& e : slot.errors) {
      spdlog::warn("skipping sample {}", e);
      skipped_.push_back(std::move(e));
    }
    if (slot.batch.size() > 0 || sharded()) return std::move(slot.batch);
  }
  return std::nullopt;
}

}  // namespace mvtag
