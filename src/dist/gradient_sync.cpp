#include "mvtag/dist/gradient_sync.h"

#include <chrono>

#include <torch/torch.h>

namespace mvtag {

GradientSync::GradientSync(ProcessGroup& group, std::vector<torch::Tensor> params, std::size_t bucket_bytes)
    : group_(group) {
  slots_.resize(params.size());
  std::vector<std::int64_t> numel;  // per bucket, so far: the next slot's offset
  std::size_t bytes = 0;
  // Reverse order: the last layers' gradients come first in backward.
  for (std::size_t k = params.size(); k-- > 0;) {
    Slot& s = slots_[k];
    s.param = params[k];
    const std::size_t size = static_cast<std::size_t>(s.param.numel()) * s.param.element_size();
    if (buckets_.empty() || (bytes > 0 && bytes + size > bucket_bytes)) {
      buckets_.emplace_back();
      numel.push_back(0);
      bytes = 0;
    }
    s.bucket = buckets_.size() - 1;
    s.offset = numel.back();
    buckets_.back().slots.push_back(k);
    numel.back() += s.param.numel();
    bytes += size;
  }
  for (std::size_t b = 0; b < buckets_.size(); ++b) {
    buckets_[b].flat = torch::zeros({numel[b]}, slots_[buckets_[b].slots.front()].param.options().requires_grad(false));
  }
  for (std::size_t k = 0; k < slots_.size(); ++k) {
    slots_[k].hook = slots_[k].param.register_hook([this, k](torch::Tensor grad) {
      on_gradient(k, grad);
      return torch::Tensor();  // the gradient itself is unchanged
    });
  }
}

GradientSync::~GradientSync() {
  for (Slot& s : slots_) {
    try {
      s.param.remove_hook(s.hook);
    } catch (...) {
    }
  }
  for (Bucket& b : buckets_) {
    try {
      b.pending.wait();
    } catch (...) {
    }
  }
}

void GradientSync::begin_step() {
  std::lock_guard<std::mutex> lock(mutex_);
  for (Slot& s : slots_) s.ready = false;
  for (Bucket& b : buckets_) {
    b.ready = 0;
    b.started = false;
  }
  next_start_ = 0;
  armed_ = true;
}

void GradientSync::on_gradient(std::size_t k, const torch::Tensor& grad) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!armed_) return;  // a backward outside a step (none in training; tests may run one)
  Slot& s = slots_[k];
  Bucket& b = buckets_[s.bucket];
  const std::int64_t n = s.param.numel();
  torch::NoGradGuard no_grad;
  if (s.ready) {
    b.flat.narrow(0, s.offset, n).add_(grad.reshape({-1}));  // a second gradient for the same step
    return;
  }
  b.flat.narrow(0, s.offset, n).copy_(grad.reshape({-1}));
  s.ready = true;
  ++b.ready;
  start_ready_buckets();
}

void GradientSync::start_ready_buckets() {
  while (next_start_ < buckets_.size() && buckets_[next_start_].ready == buckets_[next_start_].slots.size()) {
    Bucket& b = buckets_[next_start_];
    b.pending = group_.all_reduce_sum_async(b.flat, "gradients (bucket " + std::to_string(next_start_) + ")");
    b.started = true;
    ++next_start_;
  }
}

void GradientSync::finish_step() {
  torch::NoGradGuard no_grad;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (Slot& s : slots_) {
      if (s.ready) continue;
      Bucket& b = buckets_[s.bucket];
      b.flat.narrow(0, s.offset, s.param.numel()).zero_();
      s.ready = true;
      ++b.ready;
    }
    start_ready_buckets();
    armed_ = false;
  }
  const auto start = std::chrono::steady_clock::now();
  for (Bucket& b : buckets_) b.pending.wait();
  wait_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  for (Slot& s : slots_) {
    const torch::Tensor sum = buckets_[s.bucket].flat.narrow(0, s.offset, s.param.numel()).view(s.param.sizes());
    torch::Tensor& g = s.param.mutable_grad();
    if (!g.defined()) {
      g = sum.clone();
    } else {
      g.copy_(sum);
    }
  }
}

}  // namespace mvtag
