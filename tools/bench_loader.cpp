// Loader throughput: videos/s that the batch loader (batch/loader.h) delivers from a list's .pkl
// files and from a feature pack of the same list, with N worker threads and no model, so the
// number is the ceiling the input pipeline puts on training (docs/PERFORMANCE.md).
//
//   mvtag_bench_loader --list data/train.txt --features data/feature_files --pack train.mvpack \
//                      [--workers 2] [--batch 64] [--epochs 3] [--rgb-dim 2048] [--audio-dim 128]
//
// Each source is read `epochs` times (shuffled, as training reads it); the first pass warms the
// page cache and is not counted. Prints one JSON line per source.
#include <chrono>
#include <cstdio>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "mvtag/batch/loader.h"
#include <spdlog/spdlog.h>

#include "mvtag/core/base/log.h"
#include "mvtag/core/data/dataset.h"

int main(int argc, char** argv) {
  CLI::App app("Loader throughput from .pkl files and from a feature pack");
  std::string list, features, pack;
  int workers = 2, epochs = 3;
  std::size_t batch = 64;
  std::int64_t rgb_dim = 2048, audio_dim = 128;
  app.add_option("--list", list)->required();
  app.add_option("--features", features)->required();
  app.add_option("--pack", pack);
  app.add_option("--workers", workers)->capture_default_str();
  app.add_option("--batch", batch)->capture_default_str();
  app.add_option("--epochs", epochs)->capture_default_str();
  app.add_option("--rgb-dim", rgb_dim)->capture_default_str();
  app.add_option("--audio-dim", audio_dim)->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::warn);

  // Labels are not needed for throughput: read the list as an inference list.
  const mvtag::ClassMap classes;
  std::string vocab_text = "[PAD]\n[CLS]\n[SEP]\n[MASK]\n[UNK]\n";
  const mvtag::Tokenizer tokenizer = mvtag::Tokenizer(mvtag::Vocab::parse(vocab_text, "vocab"));
  for (const std::string& source : {features, pack}) {
    if (source.empty()) continue;
    mvtag::DatasetOptions o;
    o.list_file = list;
    o.feature_dir = source;
    o.mode = mvtag::ListMode::Infer;
    o.rgb_dim = rgb_dim;
    o.audio_dim = audio_dim;
    const mvtag::Dataset data(o, classes, tokenizer);
    mvtag::LoaderOptions lo;
    lo.batch_size = batch;
    lo.num_workers = workers;
    lo.shuffle = true;
    mvtag::Loader loader(data, lo, 0);
    double seconds = 0;
    std::size_t videos = 0;
    for (int epoch = 0; epoch < epochs; ++epoch) {
      const auto start = std::chrono::steady_clock::now();
      loader.start_epoch(epoch);
      std::size_t n = 0;
      while (auto b = loader.next()) n += static_cast<std::size_t>(b->size());
      if (epoch == 0 && epochs > 1) continue;  // warm-up
      seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      videos += n;
    }
    const nlohmann::json result = {{"source", data.pack() != nullptr ? "pack" : "pkl"},
                                   {"path", source},
                                   {"workers", workers},
                                   {"videos", videos},
                                   {"videos_per_s", static_cast<double>(videos) / seconds}};
    std::printf("%s\n", result.dump().c_str());
  }
  return 0;
}
