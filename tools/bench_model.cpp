// Speed of the network on random weights and inputs: eval-mode forward without autograd, ERNIE
// alone, and one training step (forward, backward with ERNIE frozen, plain SGD update) per batch.
// Prints videos/s, ERNIE's achieved GFLOP/s against this machine's matrix-product rate, and peak
// RSS. scripts/bench.sh runs it side by side with tools/eager_bench.py (the same network in
// PyTorch eager) on the same workload file; docs/PERFORMANCE.md has the results.
//
//   mvtag_bench_model [--workload original|small|fixed] [--batches 4] [--seed 1] [--threads N]
//                     [--write-workload FILE] [--json] [--breakdown] [--show-config] [--no-ernie-cache]
//                     [--reference-lstm] [--lstm-img H] [--lstm-audio H] [--precision fp32|int8|bf16]
//                     [--batch 64 --frames 40 --audio-frames 20 --title 30]   (fixed sizes)
//
// Workloads (lengths drawn per video, uniform, from --seed):
//   original  ERNIE 1.0 base, 2048/128-d features, LSTM 512/128, 110 classes, batch 64;
//             image frames 20-60, audio frames 10-40, titles 10-48 tokens
//   small     the same lengths with a 2-layer ERNIE of width 64 and LSTMs of 128/64, batch 32:
//             the recurrences dominate
//   fixed     --batch/--frames/--audio-frames/--title, every video the same (the old benchmark)
//
// The training step reads a frozen ERNIE's cached encodings, as `mvtag train` does by default
// (TRAIN.ernie_cache, model/ernie_cache.h): the cache is filled once before the timing, and its
// cost per title is reported (and included in train_samples_per_s_epoch1, the rate of a first
// epoch that fills it). --no-ernie-cache runs ERNIE in every step, as the original did.
// --reference-lstm runs the LSTM recurrences op by op (PeepholeLstmImpl::set_fused(false)), as
// before the fused recurrence, to compare the two in one binary; --lstm-img / --lstm-audio change
// the LSTMs' hidden sizes of any workload. --precision runs the inference measurements (eval
// forward, ERNIE alone) on a copy of the network at that precision (model/precision.h); the
// training step stays float32.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <ATen/Parallel.h>
#include <ATen/Version.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "mvtag/batch/loader.h"
#include "mvtag/core/config/ernie_config.h"
#include "mvtag/core/config/net_config.h"
#include "mvtag/core/base/log.h"
#include "mvtag/model/ernie_cache.h"
#include "mvtag/model/model.h"
#include "mvtag/model/peephole_lstm.h"
#include "mvtag/model/precision.h"
#include "mvtag/runtime/blas.h"
#include "mvtag/runtime/runtime.h"

namespace {

struct Options {
  std::string workload = "fixed";
  int threads = 0;
  std::int64_t batch = 64, frames = 40, audio_frames = 20, title = 30;
  int batches = 4;
  unsigned seed = 1;
  int iters = 1;  // timed passes over the batches
  std::string write_workload;
  bool json = false;
  bool show_config = false;
  bool breakdown = false;
  bool ernie_cache = true;  // the training step reads ERNIE's cached encodings (TRAIN.ernie_cache's default)
  bool reference_lstm = false;
  std::int64_t lstm_img = 0, lstm_audio = 0;  // 0: the workload's
  mvtag::Precision precision = mvtag::Precision::Fp32;  // of the inference measurements
};

[[noreturn]] void usage(const std::string& message) {
  std::fprintf(stderr, "mvtag_bench_model: %s\n", message.c_str());
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const auto text = [&]() -> std::string {
      if (i + 1 >= argc) usage(a + " needs a value");
      return argv[++i];
    };
    const auto number = [&]() -> long { return std::strtol(text().c_str(), nullptr, 10); };
    if (a == "--workload") o.workload = text();
    else if (a == "--threads") o.threads = static_cast<int>(number());
    else if (a == "--batch") o.batch = number();
    else if (a == "--frames") o.frames = number();
    else if (a == "--audio-frames") o.audio_frames = number();
    else if (a == "--title") o.title = number();
    else if (a == "--batches") o.batches = static_cast<int>(number());
    else if (a == "--iters") o.iters = static_cast<int>(number());
    else if (a == "--seed") o.seed = static_cast<unsigned>(number());
    else if (a == "--write-workload") o.write_workload = text();
    else if (a == "--json") o.json = true;
    else if (a == "--show-config") o.show_config = true;
    else if (a == "--breakdown") o.breakdown = true;
    else if (a == "--no-ernie-cache") o.ernie_cache = false;
    else if (a == "--reference-lstm") o.reference_lstm = true;
    else if (a == "--lstm-img") o.lstm_img = number();
    else if (a == "--lstm-audio") o.lstm_audio = number();
    else if (a == "--precision") {
      const auto p = mvtag::parse_precision(text());
      if (!p) usage("--precision: fp32, int8 or bf16");
      o.precision = *p;
    }
    else usage("unknown argument " + a);
  }
  if (o.workload != "original" && o.workload != "small" && o.workload != "fixed") usage("--workload: original, small or fixed");
  if (o.batch < 1 || o.frames < 1 || o.audio_frames < 1 || o.title < 2 || o.title > 513 || o.batches < 1 || o.iters < 1) {
    usage("sizes must be positive, --title in [2, 513]");
  }
  return o;
}

// Per-video lengths of every batch.
struct BatchLengths {
  std::vector<std::int64_t> rgb, audio, text;
};

struct Workload {
  mvtag::NetConfig config;
  std::vector<BatchLengths> batches;
};

Workload make_workload(const Options& o) {
  Workload w;  // NetConfig{} is the original's sizes
  std::int64_t batch = 64;
  if (o.workload == "small") {
    w.config.ernie.num_hidden_layers = 2;
    w.config.ernie.hidden_size = 64;
    w.config.ernie.num_attention_heads = 4;
    w.config.ernie.intermediate_size = 256;
    w.config.lstm_size_img = 128;
    w.config.lstm_size_audio = 64;
    batch = 32;
  }
  if (o.lstm_img > 0) w.config.lstm_size_img = o.lstm_img;
  if (o.lstm_audio > 0) w.config.lstm_size_audio = o.lstm_audio;
  std::mt19937 rng(o.seed);
  const auto uniform = [&](std::int64_t lo, std::int64_t hi) {
    return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng);
  };
  for (int b = 0; b < o.batches; ++b) {
    BatchLengths l;
    const std::int64_t n = o.workload == "fixed" ? o.batch : batch;
    for (std::int64_t i = 0; i < n; ++i) {
      if (o.workload == "fixed") {
        l.rgb.push_back(o.frames);
        l.audio.push_back(o.audio_frames);
        l.text.push_back(o.title);
      } else {
        l.rgb.push_back(uniform(20, 60));
        l.audio.push_back(uniform(10, 40));
        l.text.push_back(uniform(10, 48));
      }
    }
    w.batches.push_back(std::move(l));
  }
  return w;
}

nlohmann::json workload_json(const Options& o, const Workload& w) {
  nlohmann::json j;
  j["workload"] = o.workload;
  j["seed"] = o.seed;
  j["config"] = mvtag::net_config_to_json(w.config);
  j["config"]["ernie"] = mvtag::ernie_config_to_json(w.config.ernie);
  j["batches"] = nlohmann::json::array();
  for (const auto& b : w.batches) j["batches"].push_back({{"rgb_len", b.rgb}, {"audio_len", b.audio}, {"text_len", b.text}});
  return j;
}

double peak_rss_mb() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::strtod(line.c_str() + 6, nullptr) / 1024.0;  // kB
  }
  return 0;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

torch::Tensor lengths_tensor(const std::vector<std::int64_t>& v) { return torch::tensor(v, torch::kInt64); }
std::int64_t longest(const std::vector<std::int64_t>& v) { return *std::max_element(v.begin(), v.end()); }

mvtag::NetInput random_input(const BatchLengths& l, const mvtag::NetConfig& c) {
  const auto n = static_cast<std::int64_t>(l.rgb.size());
  const std::int64_t title = longest(l.text);
  auto ids = torch::randint(4, c.ernie.vocab_size, {n, title}, torch::kInt64);
  for (std::int64_t i = 0; i < n; ++i) {
    ids[i][0] = 1;                 // [CLS]
    ids[i][l.text[static_cast<std::size_t>(i)] - 1] = 2;  // [SEP]
  }
  return {torch::randn({n, longest(l.rgb), c.rgb_dim}), lengths_tensor(l.rgb),
          torch::randn({n, longest(l.audio), c.audio_dim}), lengths_tensor(l.audio), ids, lengths_tensor(l.text)};
}

// The same videos re-batched as `mvtag infer` batches them (batch/loader.h, Bucketing::Title: by
// title length, then frames, then audio frames; the loader's pool of 4 batches is this workload's
// 256 videos), each batch padded to its own longest sequences.
std::vector<mvtag::NetInput> bucketed(const std::vector<mvtag::NetInput>& inputs) {
  struct Video {
    std::int64_t title, frames, audio;
    std::size_t batch, row;
  };
  std::vector<Video> listed;
  std::vector<mvtag::VideoLengths> lengths;
  for (std::size_t b = 0; b < inputs.size(); ++b) {
    for (std::int64_t i = 0; i < inputs[b].rgb.size(0); ++i) {
      listed.push_back({inputs[b].text_len[i].item<std::int64_t>(), inputs[b].rgb_len[i].item<std::int64_t>(),
                        inputs[b].audio_len[i].item<std::int64_t>(), b, static_cast<std::size_t>(i)});
      lengths.push_back({listed.back().title, listed.back().frames, listed.back().audio, listed.size() - 1});
    }
  }
  std::vector<Video> videos;  // in the loader's order
  for (std::size_t k : mvtag::bucket_order(lengths, mvtag::Bucketing::Title)) videos.push_back(listed[k]);
  std::vector<mvtag::NetInput> out;
  std::size_t next = 0;
  for (const auto& in : inputs) {
    const std::int64_t n = in.rgb.size(0);
    std::int64_t l = 0, t = 0, ta = 0;
    for (std::int64_t i = 0; i < n; ++i) {
      const Video& v = videos[next + static_cast<std::size_t>(i)];
      l = std::max(l, v.title), t = std::max(t, v.frames), ta = std::max(ta, v.audio);
    }
    mvtag::NetInput o{torch::zeros({n, t, in.rgb.size(2)}), torch::empty({n}, torch::kInt64),
                      torch::zeros({n, ta, in.audio.size(2)}), torch::empty({n}, torch::kInt64),
                      torch::zeros({n, l}, torch::kInt64), torch::empty({n}, torch::kInt64)};
    for (std::int64_t i = 0; i < n; ++i) {
      const Video& v = videos[next + static_cast<std::size_t>(i)];
      const mvtag::NetInput& src = inputs[v.batch];
      const auto r = static_cast<std::int64_t>(v.row);
      o.rgb[i].narrow(0, 0, v.frames).copy_(src.rgb[r].narrow(0, 0, v.frames));
      o.audio[i].narrow(0, 0, v.audio).copy_(src.audio[r].narrow(0, 0, v.audio));
      o.text_ids[i].narrow(0, 0, v.title).copy_(src.text_ids[r].narrow(0, 0, v.title));
      o.rgb_len[i] = v.frames, o.audio_len[i] = v.audio, o.text_len[i] = v.title;
    }
    next += static_cast<std::size_t>(n);
    out.push_back(std::move(o));
  }
  return out;
}

// FLOPs of ERNIE's forward over padded titles of `steps` tokens (what is computed): per layer and
// title, 8·L·d² for q, k, v and the output, 4·L·d·inner for the FFN, 4·L²·d for the two attention
// products.
double ernie_flops(const mvtag::ErnieConfig& e, std::int64_t titles, std::int64_t steps) {
  const double L = static_cast<double>(steps), d = static_cast<double>(e.hidden_size);
  const double per_layer = 8 * L * d * d + 4 * L * d * static_cast<double>(e.intermediate_size) + 4 * L * L * d;
  return per_layer * static_cast<double>(e.num_hidden_layers) * static_cast<double>(titles);
}

// GFLOP/s of a 2048³ float32 matrix product, the best of three.
double matmul_gflops() {
  const auto a = torch::randn({2048, 2048}), b = torch::randn({2048, 2048});
  torch::mm(a, b);
  double best = 0;
  for (int i = 0; i < 3; ++i) {
    const auto start = std::chrono::steady_clock::now();
    torch::mm(a, b);
    best = std::max(best, 2.0 * 2048 * 2048 * 2048 / seconds_since(start) / 1e9);
  }
  return best;
}

// Where the eval forward spends its time, stage by stage (the first batch).
void breakdown(mvtag::VideoTagNet& net, const mvtag::NetInput& in) {
  torch::NoGradGuard no_grad;
  torch::Tensor encoded, text, image_states, audio_states;
  const auto stage = [&](const char* what, const std::function<void()>& run) {
    run();
    const auto start = std::chrono::steady_clock::now();
    run();
    std::printf("  %-26s %9.1f ms\n", what, 1000.0 * seconds_since(start));
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
void train_breakdown(mvtag::VideoTagNet& net, const mvtag::NetInput& in) {
  torch::Tensor fwd_gates, bwd_gates;
  {
    torch::NoGradGuard no_grad;
    fwd_gates = net->image->fwd_proj(in.rgb) + net->image->fwd_lstm->bias;
    bwd_gates = net->image->bwd_proj(in.rgb) + net->image->bwd_lstm->bias;
  }
  fwd_gates.requires_grad_(true);
  bwd_gates.requires_grad_(true);
  const auto probe = torch::randn({fwd_gates.size(0), fwd_gates.size(1), 2 * net->image->fwd_lstm->hidden_size()});
  const auto run = [&] {
    const auto states = torch::cat({net->image->fwd_lstm->forward_gates(fwd_gates, in.rgb_len),
                                    net->image->bwd_lstm->forward_gates(bwd_gates, in.rgb_len)}, 2);
    (states * probe).sum().backward();
  };
  run();
  const auto start = std::chrono::steady_clock::now();
  run();
  std::printf("  %-26s %9.1f ms\n", "image LSTMs fwd + bwd", 1000.0 * seconds_since(start));
  for (auto& p : net->parameters()) p.mutable_grad() = torch::Tensor();
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  mvtag::setup_logging("info");  // logs to stderr: stdout holds the results (one JSON line with --json)
  const std::string blas = mvtag::ensure_fast_blas();
  const int threads = mvtag::configure_threads(o.threads);
  if (o.show_config) std::printf("%s\n", at::show_config().c_str());
  torch::manual_seed(static_cast<std::uint64_t>(o.seed));
  const Workload w = make_workload(o);
  if (!o.write_workload.empty()) {
    std::ofstream(o.write_workload) << workload_json(o, w).dump() << "\n";
  }
  const auto build_start = std::chrono::steady_clock::now();
  mvtag::VideoTagNet net(w.config);
  const double build_s = seconds_since(build_start);
  for (const auto& m : net->modules()) {
    if (auto lstm = std::dynamic_pointer_cast<mvtag::PeepholeLstmImpl>(m)) lstm->set_fused(!o.reference_lstm);
  }
  std::vector<mvtag::NetInput> inputs;
  std::vector<std::vector<std::size_t>> keys;  // each video's title, in `titles`
  std::vector<mvtag::TextRecord> titles;
  std::vector<torch::Tensor> labels;
  std::int64_t videos = 0;
  double flops = 0;
  for (const auto& b : w.batches) {
    inputs.push_back(random_input(b, w.config));
    const auto n = static_cast<std::int64_t>(b.rgb.size());
    keys.emplace_back();
    for (std::int64_t i = 0; i < n; ++i) {
      const auto row = inputs.back().text_ids[i].narrow(0, 0, b.text[static_cast<std::size_t>(i)]).contiguous();
      mvtag::TextRecord t;
      t.token_ids.assign(row.data_ptr<std::int64_t>(), row.data_ptr<std::int64_t>() + row.numel());
      keys.back().push_back(titles.size());
      titles.push_back(std::move(t));
    }
    labels.push_back((torch::rand({n, w.config.num_classes}) < 0.03).to(torch::kFloat32));
    videos += n;
    flops += ernie_flops(w.config.ernie, n, longest(b.text));
  }
  // Each measurement: one untimed warm-up batch, then `iters` passes over every batch.
  const auto timed = [&](const std::function<void(std::size_t)>& run) {
    run(0);
    const auto start = std::chrono::steady_clock::now();
    for (int it = 0; it < o.iters; ++it) {
      for (std::size_t i = 0; i < inputs.size(); ++i) run(i);
    }
    return seconds_since(start) / o.iters;
  };

  net->eval();
  // Inference runs on a copy at --precision (the same weights); training below on `net`, fp32.
  mvtag::VideoTagNet infer_net = net;
  if (o.precision != mvtag::Precision::Fp32) {
    infer_net = mvtag::VideoTagNet(w.config);
    torch::NoGradGuard no_grad;
    const auto source = net->named_parameters();
    for (auto& p : infer_net->named_parameters()) p.value().copy_(source[p.key()]);
    for (const auto& m : infer_net->modules()) {
      if (auto lstm = std::dynamic_pointer_cast<mvtag::PeepholeLstmImpl>(m)) lstm->set_fused(!o.reference_lstm);
    }
    mvtag::apply_precision(*infer_net, o.precision, torch::kCPU);
  }
  // Inference as `mvtag infer` runs it (length buckets), and on the workload's own batches.
  std::vector<mvtag::NetInput> buckets = bucketed(inputs);
  const double eval_s = timed([&](std::size_t i) {
    torch::NoGradGuard no_grad;
    infer_net->forward(buckets[i]);
  });
  buckets.clear();  // a copy of the inputs: not part of the peak RSS measured below
  const double eval_unbucketed_s = timed([&](std::size_t i) {
    torch::NoGradGuard no_grad;
    infer_net->forward(inputs[i]);
  });
  const double ernie_s = timed([&](std::size_t i) {
    torch::NoGradGuard no_grad;
    infer_net->ernie(inputs[i].text_ids, inputs[i].text_len);
  });
  std::unique_ptr<mvtag::ErnieCache> cache;
  double fill_s = 0;
  if (o.ernie_cache) {
    mvtag::ErnieCacheOptions co;
    co.label = "benchmark titles";
    const auto fill_start = std::chrono::steady_clock::now();
    cache = std::make_unique<mvtag::ErnieCache>(*net->ernie, titles, 0, torch::kCPU, co);
    fill_s = seconds_since(fill_start);
  }
  net->train();
  const auto params = net->trainable_parameters();
  const double train_s = timed([&](std::size_t i) {
    mvtag::NetInput in = inputs[i];
    if (cache) in.text_encoded = cache->encode(keys[i], in.text_ids, in.text_len);
    const auto loss = net->loss(net->forward(in), labels[i]);
    loss.backward();
    torch::NoGradGuard no_grad;
    for (const auto& [name, p] : params) {
      p.sub_(p.grad(), 1e-4);
      p.grad().zero_();
    }
  });
  const double mm = matmul_gflops();
  const nlohmann::json result = {{"impl", "mvtag"},
                                 {"workload", o.workload},
                                 {"precision", mvtag::to_string(o.precision)},
                                 {"threads", threads},
                                 {"videos", videos},
                                 {"eval_videos_per_s", static_cast<double>(videos) / eval_s},
                                 {"eval_videos_per_s_unbucketed", static_cast<double>(videos) / eval_unbucketed_s},
                                 {"train_samples_per_s", static_cast<double>(videos) / train_s},
                                 {"train_samples_per_s_epoch1", static_cast<double>(videos) / (train_s + fill_s)},
                                 {"ernie_cache", o.ernie_cache},
                                 {"ernie_cache_fill_titles_per_s", fill_s > 0 ? static_cast<double>(videos) / fill_s : 0.0},
                                 {"ernie_gflops", flops / ernie_s / 1e9},
                                 {"matmul_gflops", mm},
                                 {"peak_rss_mb", peak_rss_mb()},
                                 {"build_s", build_s},
                                 {"lstm", o.reference_lstm ? "op by op" : "fused"}};
  if (o.json) {
    std::printf("%s\n", result.dump().c_str());
  } else {
    std::printf("BLAS: %s\nLibTorch %s, intra-op threads %d, workload %s, %d batches, %ld videos\n", blas.c_str(),
                TORCH_VERSION, threads, o.workload.c_str(), o.batches, static_cast<long>(videos));
    std::printf("%-28s %9.1f videos/s (%s; length buckets; the workload's own batches: %.1f)\n",
                "eval forward (no grad)", static_cast<double>(videos) / eval_s, mvtag::to_string(o.precision).c_str(),
                static_cast<double>(videos) / eval_unbucketed_s);
    std::printf("%-28s %9.1f samples/s%s\n", "train step (ERNIE frozen)", static_cast<double>(videos) / train_s,
                o.ernie_cache ? " (ERNIE cached)" : " (ERNIE every step)");
    if (o.ernie_cache) {
      std::printf("%-28s %9.1f samples/s (filling the cache: %.1f titles/s)\n", "  first epoch", static_cast<double>(videos) / (train_s + fill_s),
                  static_cast<double>(videos) / fill_s);
    }
    std::printf("%-28s %9.1f GFLOP/s (matrix product: %.1f GFLOP/s)\n", "ERNIE forward", flops / ernie_s / 1e9, mm);
    std::printf("%-28s %9.1f MB\n", "peak RSS (VmHWM)", peak_rss_mb());
  }
  if (o.breakdown) {
    net->eval();
    std::printf("eval forward by stage (first batch; LSTM recurrences %s):\n",
                o.reference_lstm ? "op by op" : "fused");
    breakdown(net, inputs[0]);
    train_breakdown(net, inputs[0]);
  }
  return 0;
}
