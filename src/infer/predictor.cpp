#include "mvtag/infer/predictor.h"

#include <algorithm>
#include <optional>

#include <torch/torch.h>

#include "mvtag/core/report/progress.h"

namespace mvtag {

namespace {

// Results of a bucketed pass, kept per video until the pass ends and then handed to the sink in
// the list's order, in the batches an unbucketed pass would have made (the same videos together,
// less those that could not be read): sinks that depend on the batch layout, such as the
// original's loss bookkeeping, see exactly what they would have seen.
class ListOrder {
 public:
  ListOrder(std::size_t videos, std::size_t batch_size) : rows_(videos), batch_size_(batch_size) {}

  void add(const Batch& batch, const torch::Tensor& logits, const torch::Tensor& probs) {
    for (std::int64_t i = 0; i < batch.size(); ++i) {
      const auto k = static_cast<std::size_t>(i);
      Row& row = rows_.at(batch.indices[k]);
      row.present = true;
      row.name = batch.names[k];
      row.video_id = batch.video_ids[k];
      row.logits = logits[i];
      row.probs = probs[i];
      row.labels = batch.labels[i];
    }
  }

  // Data parallelism: each rank holds the rows of its shard; afterwards every rank holds all of
  // them (a row's values come from the one rank that computed it: adding zeros is exact).
  // `counts` ({videos, skipped}) are summed with them. Rows from other ranks carry the list's
  // name and no video id.
  void merge(const Dataset& dataset, std::int64_t cls, const TensorSum& sum, std::vector<double>& counts) {
    // One float tensor: per video [present, logits, probs, labels], then the counts.
    const std::int64_t n = static_cast<std::int64_t>(rows_.size()), width = 1 + 3 * cls, tail = n * width;
    torch::Tensor packed = torch::zeros({tail + static_cast<std::int64_t>(counts.size())}, torch::kFloat32);
    float* p = packed.data_ptr<float>();
    for (std::int64_t k = 0; k < n; ++k) {
      const Row& row = rows_[static_cast<std::size_t>(k)];
      if (!row.present) continue;
      float* at = p + k * width;
      at[0] = 1.0f;
      const torch::Tensor values = torch::cat({row.logits, row.probs, row.labels.to(torch::kFloat32)}).contiguous();
      std::copy(values.data_ptr<float>(), values.data_ptr<float>() + 3 * cls, at + 1);
    }
    for (std::size_t i = 0; i < counts.size(); ++i) p[tail + static_cast<std::int64_t>(i)] = static_cast<float>(counts[i]);
    sum(packed);
    p = packed.data_ptr<float>();  // `sum` may have given the tensor new storage
    for (std::int64_t k = 0; k < n; ++k) {
      Row& row = rows_[static_cast<std::size_t>(k)];
      const float* at = p + k * width;
      if (at[0] == 0.0f || row.present) continue;
      const torch::Tensor values = torch::from_blob(const_cast<float*>(at + 1), {3 * cls}, torch::kFloat32).clone();
      row.present = true;
      row.name = dataset.item(static_cast<std::size_t>(k)).name;
      row.logits = values.narrow(0, 0, cls);
      row.probs = values.narrow(0, cls, cls);
      row.labels = values.narrow(0, 2 * cls, cls);
    }
    for (std::size_t i = 0; i < counts.size(); ++i) counts[i] = p[tail + static_cast<std::int64_t>(i)];
  }

  void emit(const PredictionSink& sink) const {
    for (std::size_t begin = 0; begin < rows_.size(); begin += batch_size_) {
      Batch batch;
      std::vector<torch::Tensor> logits, probs, labels;
      for (std::size_t k = begin; k < std::min(begin + batch_size_, rows_.size()); ++k) {
        const Row& row = rows_[k];
        if (!row.present) continue;
        batch.indices.push_back(k);
        batch.names.push_back(row.name);
        batch.video_ids.push_back(row.video_id);
        logits.push_back(row.logits);
        probs.push_back(row.probs);
        labels.push_back(row.labels);
      }
      if (batch.indices.empty()) continue;
      batch.labels = torch::stack(labels);
      sink(batch, torch::stack(logits), torch::stack(probs));
    }
  }

 private:
  struct Row {
    bool present = false;
    std::string name, video_id;
    torch::Tensor logits, probs, labels;
  };
  std::vector<Row> rows_;
  std::size_t batch_size_;
};

}  // namespace

PredictStats predict(VideoTagNetImpl& net, Loader& loader, const torch::Device& device, const PredictionSink& sink,
                     const std::string& label, ErnieCache* cache, const TensorSum* sum) {
  if (loader.sharded() && sum == nullptr) throw std::logic_error("predict: a sharded loader needs a TensorSum");
  const bool was_training = net.is_training();
  net.eval();
  torch::NoGradGuard no_grad;
  PredictStats stats;
  std::optional<Progress> progress;
  if (!label.empty()) progress.emplace(label, static_cast<std::int64_t>(loader.samples_per_epoch()), "videos");
  std::optional<ListOrder> list_order;
  if (loader.reorders() || loader.sharded()) list_order.emplace(loader.dataset_size(), loader.batch_size());
  loader.start_epoch(0);
  while (auto batch = loader.next()) {
    if (batch->size() == 0) continue;  // a shard's empty part of a batch
    NetInput input = batch->input.to(device);
    if (cache != nullptr) input.text_encoded = cache->encode(batch->indices, input.text_ids, input.text_len);
    const torch::Tensor logits = net.forward(input);
    const torch::Tensor probs = net.probabilities(logits).to(torch::kCPU, torch::kFloat32).contiguous();
    const torch::Tensor cpu_logits = logits.to(torch::kCPU, torch::kFloat32).contiguous();
    if (list_order) {
      list_order->add(*batch, cpu_logits, probs);
    } else {
      sink(*batch, cpu_logits, probs);
    }
    stats.videos += static_cast<std::size_t>(batch->size());
    if (progress) progress->advance(batch->size());
  }
  stats.skipped = loader.skipped().size();
  if (progress) {
    progress->advance(static_cast<std::int64_t>(stats.skipped));
    stats.seconds = progress->finish();
  }
  if (loader.sharded()) {
    std::vector<double> counts{static_cast<double>(stats.videos), static_cast<double>(stats.skipped)};
    list_order->merge(loader.dataset(), net.config().num_classes, *sum, counts);
    stats.videos = static_cast<std::size_t>(counts[0]);
    stats.skipped = static_cast<std::size_t>(counts[1]);
  }
  if (list_order) list_order->emit(sink);
  net.train(was_training);
  return stats;
}

EvalResult evaluate(VideoTagNetImpl& net, Loader& loader, const torch::Device& device,
                    const MetricsOptions& options, const std::string& label, ErnieCache* cache,
                    const TensorSum* sum) {
  MetricsAccumulator acc(static_cast<int>(net.config().num_classes), options);
  LossMeter loss;
  EvalResult result;
  result.stats = predict(
      net, loader, device,
      [&](const Batch& batch, const torch::Tensor& logits, const torch::Tensor& probs) {
        const torch::Tensor labels = batch.labels.contiguous();
        acc.add(probs.data_ptr<float>(), labels.data_ptr<float>(), static_cast<std::size_t>(batch.size()));
        loss.add(net.loss(logits, labels).item<double>(), static_cast<std::size_t>(batch.size()));
      },
      label, cache, sum);
  result.metrics = acc.finish();
  result.loss = loss.per_sample();
  result.loss_original = loss.original();
  return result;
}

}  // namespace mvtag
