#include "mvtag/infer/predictor.h"

#include <torch/torch.h>

#include "mvtag/core/report/progress.h"

namespace mvtag {

PredictStats predict(VideoTagNetImpl& net, Loader& loader, const torch::Device& device, const PredictionSink& sink,
                     const std::string& label, ErnieCache* cache) {
  const bool was_training = net.is_training();
  net.eval();
  torch::NoGradGuard no_grad;
  PredictStats stats;
  std::optional<Progress> progress;
  if (!label.empty()) progress.emplace(label, static_cast<std::int64_t>(loader.dataset_size()), "videos");
  loader.start_epoch(0);
  while (auto batch = loader.next()) {
    NetInput input = batch->input.to(device);
    if (cache != nullptr) input.text_encoded = cache->encode(batch->indices, input.text_ids, input.text_len);
    const torch::Tensor logits = net.forward(input);
    const torch::Tensor probs = net.probabilities(logits).to(torch::kCPU, torch::kFloat32).contiguous();
    sink(*batch, logits.to(torch::kCPU, torch::kFloat32).contiguous(), probs);
    stats.videos += static_cast<std::size_t>(batch->size());
    if (progress) progress->advance(batch->size());
  }
  stats.skipped = loader.skipped().size();
  if (progress) {
    progress->advance(static_cast<std::int64_t>(stats.skipped));
    stats.seconds = progress->finish();
  }
  net.train(was_training);
  return stats;
}

EvalResult evaluate(VideoTagNetImpl& net, Loader& loader, const torch::Device& device,
                    const MetricsOptions& options, const std::string& label, ErnieCache* cache) {
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
      label, cache);
  result.metrics = acc.finish();
  result.loss = loss.per_sample();
  result.loss_original = loss.original();
  return result;
}

}  // namespace mvtag
