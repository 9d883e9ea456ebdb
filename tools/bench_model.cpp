// Speed of the network at the original's sizes (ERNIE 1.0 base, 2048-d frames, 110 classes) on
// random weights and inputs: eval-mode forward without autograd, and one training step (forward,
// backward with ERNIE frozen, plain SGD update). Prints ms per batch, videos/s and peak RSS.
//
//   mvtag_bench_model [--threads N] [--batch 64] [--frames 40] [--audio-frames 20] [--title 30]
//                     [--iters 3] [--show-config] [--breakdown] [--reference-lstm]
//                     [--lstm-img 512] [--lstm-audio 128]
//
// --reference-lstm runs the LSTM recurrences op by op (PeepholeLstmImpl::set_fused(false)), as
// before the fused recurrence, to compare the two in one binary.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <string>

#include <ATen/Parallel.h>
#include <ATen/Version.h>
#include <torch/torch.h>

#include "mvtag/model/model.h"
#include "mvtag/model/peephole_lstm.h"
#include "mvtag/runtime/blas.h"
#include "mvtag/runtime/runtime.h"

namespace {

struct Options {
  int threads = 0;
  std::int64_t batch = 64, frames = 40, audio_frames = 20, title = 30;
  std::int64_t lstm_img = 512, lstm_audio = 128;  // the LSTMs' hidden sizes (the demo: 128, 32)
  int iters = 3;
  bool show_config = false;
  bool breakdown = false;
  bool reference_lstm = false;
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const auto next = [&]() -> long {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(2);
      }
      return std::strtol(argv[++i], nullptr, 10);
    };
    if (a == "--threads") o.threads = static_cast<int>(next());
    else if (a == "--batch") o.batch = next();
    else if (a == "--frames") o.frames = next();
    else if (a == "--audio-frames") o.audio_frames = next();
    else if (a == "--title") o.title = next();
    else if (a == "--iters") o.iters = static_cast<int>(next());
    else if (a == "--show-config") o.show_config = true;
    else if (a == "--breakdown") o.breakdown = true;
    else if (a == "--reference-lstm") o.reference_lstm = true;
    else if (a == "--lstm-img") o.lstm_img = next();
    else if (a == "--lstm-audio") o.lstm_audio = next();
    else {
      std::fprintf(stderr, "unknown argument %s\n", a.c_str());
      std::exit(2);
    }
  }
  if (o.batch < 1 || o.frames < 1 || o.audio_frames < 1 || o.title < 2 || o.title > 513 || o.iters < 1 ||
      o.lstm_img < 1 || o.lstm_audio < 1) {
    std::fprintf(stderr, "sizes must be positive, --title in [2, 513]\n");
    std::exit(2);
  }
  return o;
}

std::string peak_rss() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return line.substr(6);
  }
  return "unknown";
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// One untimed warm-up run, then the mean of `iters` timed runs, in milliseconds.
double time_ms(int iters, const std::function<void()>& run) {
  run();
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < iters; ++i) run();
  return 1000.0 * seconds_since(start) / iters;
}

mvtag::NetInput random_input(const Options& o, const mvtag::NetConfig& c) {
  auto ids = torch::randint(4, c.ernie.vocab_size, {o.batch, o.title}, torch::kInt64);
  ids.select(1, 0).fill_(1);            // [CLS]
  ids.select(1, o.title - 1).fill_(2);  // [SEP]
  return {torch::randn({o.batch, o.frames, c.rgb_dim}),
          torch::full({o.batch}, o.frames, torch::kInt64),
          torch::randn({o.batch, o.audio_frames, c.audio_dim}),
          torch::full({o.batch}, o.audio_frames, torch::kInt64),
          ids,
          torch::full({o.batch}, o.title, torch::kInt64)};
}

void report(const char* what, double ms, std::int64_t batch) {
  std::printf("%-28s %9.1f ms/batch  %8.1f videos/s\n", what, ms, 1000.0 * batch / ms);
}

// Where the eval forward spends its time, stage by stage.
void breakdown(mvtag::VideoTagNet& net, const mvtag::NetInput& in, int iters) {
  torch::NoGradGuard no_grad;
  torch::Tensor encoded, text, image_states, audio_states;
  const auto stage = [&](const char* what, const std::function<void()>& run) {
    std::printf("  %-26s %9.1f ms\n", what, time_ms(iters, run));
  };
  stage("ERNIE", [&] { encoded = net->ernie(in.text_ids, in.text_len); });
  stage("TextCNN", [&] { text = net->textcnn(encoded, in.text_len) * 0.5; });
  torch::Tensor fwd_gates, bwd_gates;
  stage("image projections", [&] {
    fwd_gates = net->image->fwd_proj(in.rgb) + net->image->fwd_lstm->bias;
    bwd_gates = net->image->bwd_proj(in.rgb) + net->image->bwd_lstm->bias;
  });
  stage("image LSTM recurrences", [&] {
    image_states = torch::cat({net->image->fwd_lstm->forward_gates(fwd_gates, in.rgb_len),
                               net->image->bwd_lstm->forward_gates(bwd_gates, in.rgb_len)}, 2) * 0.5;
  });
  stage("image attention pooling", [&] { net->image->attention(image_states, in.rgb_len, text); });
  stage("audio projections + LSTMs", [&] { audio_states = net->audio->encode(in.audio, in.audio_len) * 0.5; });
  stage("audio attention pooling", [&] { net->audio->attention(audio_states, in.audio_len, text); });
}

// The image LSTMs' recurrences with autograd: forward, then backward from a random gradient of
// their outputs to the gates, weight_hh and peepholes (what the train step pays for them).
void train_breakdown(mvtag::VideoTagNet& net, const mvtag::NetInput& in, int iters) {
  torch::Tensor fwd_gates, bwd_gates;
  {
    torch::NoGradGuard no_grad;
    fwd_gates = net->image->fwd_proj(in.rgb) + net->image->fwd_lstm->bias;
    bwd_gates = net->image->bwd_proj(in.rgb) + net->image->bwd_lstm->bias;
  }
  fwd_gates.requires_grad_(true);
  bwd_gates.requires_grad_(true);
  const auto probe = torch::randn({fwd_gates.size(0), fwd_gates.size(1), 2 * net->image->fwd_lstm->hidden_size()});
  std::printf("  %-26s %9.1f ms\n", "image LSTMs fwd + bwd", time_ms(iters, [&] {
    const auto states = torch::cat({net->image->fwd_lstm->forward_gates(fwd_gates, in.rgb_len),
                                    net->image->bwd_lstm->forward_gates(bwd_gates, in.rgb_len)}, 2);
    (states * probe).sum().backward();
  }));
  for (auto& p : net->parameters()) p.mutable_grad() = torch::Tensor();
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  const std::string blas = mvtag::ensure_fast_blas();
  const int threads = mvtag::configure_threads(o.threads);
  if (o.show_config) std::printf("%s\n", at::show_config().c_str());
  std::printf("BLAS: %s\n", blas.c_str());
  std::printf("LibTorch %s, intra-op threads %d, batch %ld, %ld image / %ld audio frames, %ld-token titles\n",
              TORCH_VERSION, threads, static_cast<long>(o.batch), static_cast<long>(o.frames),
              static_cast<long>(o.audio_frames), static_cast<long>(o.title));
  std::printf("LSTMs of %ld (image) and %ld (audio), recurrences %s\n", static_cast<long>(o.lstm_img),
              static_cast<long>(o.lstm_audio), o.reference_lstm ? "op by op (--reference-lstm)" : "fused");

  torch::manual_seed(0);
  mvtag::NetConfig config;  // the original's sizes
  config.lstm_size_img = o.lstm_img;
  config.lstm_size_audio = o.lstm_audio;
  auto start = std::chrono::steady_clock::now();
  mvtag::VideoTagNet net(config);
  for (const auto& m : net->modules()) {
    if (auto lstm = std::dynamic_pointer_cast<mvtag::PeepholeLstmImpl>(m)) lstm->set_fused(!o.reference_lstm);
  }
  std::printf("%-28s %9.1f ms\n", "build + init", 1000.0 * seconds_since(start));
  const auto input = random_input(o, config);
  const auto labels = (torch::rand({o.batch, config.num_classes}) < 0.03).to(torch::kFloat32);

  net->eval();
  const double eval_ms = time_ms(o.iters, [&] {
    torch::NoGradGuard no_grad;
    net->forward(input);
  });
  report("eval forward (no grad)", eval_ms, o.batch);
  if (o.breakdown) breakdown(net, input, o.iters);

  net->train();
  const auto params = net->trainable_parameters();
  const double train_ms = time_ms(o.iters, [&] {
    const auto loss = net->loss(net->forward(input), labels);
    loss.backward();
    torch::NoGradGuard no_grad;
    for (const auto& [name, p] : params) {
      p.sub_(p.grad(), 1e-4);
      p.grad().zero_();
    }
  });
  report("train step (ERNIE frozen)", train_ms, o.batch);
  if (o.breakdown) train_breakdown(net, input, o.iters);
  std::printf("peak RSS (VmHWM): %s\n", peak_rss().c_str());
  return 0;
}
