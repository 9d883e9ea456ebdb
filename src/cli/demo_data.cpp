// mvtag demo-data: writes the embedded demo data set (see include/mvtag/core/data/demo_data.h)
// and the weights of its tiny randomly initialised ERNIE, ready for
// `mvtag train --conf conf/demo.txt`.
#include <memory>

#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include "commands.h"
#include "mvtag/core/data/demo_data.h"
#include "mvtag/model/ernie.h"
#include "mvtag/model/weights.h"

namespace mvtag::cli {

Command add_demo_data_command(CLI::App& root) {
  auto* sub = root.add_subcommand(
      "demo-data",
      "Write the synthetic demo data set in the original's on-disk format (list files, class.txt,\n"
      ".pkl features) plus a tiny random ERNIE; conf/demo.txt trains on it.");
  auto opt = std::make_shared<DemoOptions>();
  auto out = std::make_shared<std::string>("demo_data");
  auto ernie_size = std::make_shared<std::string>("tiny");
  sub->add_option("--output,-o", *out, "Directory to write")->capture_default_str();
  sub->add_option("--seed", opt->seed, "Random seed (the same seed gives the same files)")->capture_default_str();
  sub->add_option("--train", opt->train_videos, "Training videos")->capture_default_str()->check(CLI::PositiveNumber);
  sub->add_option("--val", opt->val_videos, "Validation videos")->capture_default_str()->check(CLI::PositiveNumber);
  sub->add_option("--rgb-dim", opt->rgb_dim, "Image feature width")->capture_default_str()->check(CLI::PositiveNumber);
  sub->add_option("--audio-dim", opt->audio_dim, "Audio feature width")->capture_default_str()->check(CLI::PositiveNumber);
  sub->add_option("--min-frames", opt->min_frames, "Fewest image frames per video")->capture_default_str()->check(CLI::PositiveNumber);
  sub->add_option("--max-frames", opt->max_frames, "Most image frames per video")->capture_default_str()->check(CLI::PositiveNumber);
  sub->add_option("--ernie", *ernie_size,
                  "Size of the random encoder: tiny (2 layers of 64, for the demo) or base (ERNIE 1.0 base: "
                  "12 layers of 768, 18000 rows; for benchmarks at the original's sizes)")
      ->check(CLI::IsMember({"tiny", "base"}))
      ->capture_default_str();
  return {sub, [opt, out, ernie_size]() -> int {
            spdlog::info("writing the demo data set to {} ...", *out);
            const DemoSummary s = write_demo_data(*out, *opt);
            torch::manual_seed(opt->seed);
            // ErnieConfig's defaults are ERNIE 1.0 base; the demo vocabulary fits in its 18000 rows.
            Ernie ernie(*ernie_size == "base" ? ErnieConfig{} : s.ernie);
            save_ernie_directory(*ernie, *out + "/ernie");
            spdlog::info("demo data: {} classes, {} train and {} validation videos ({:.2f} labels per video, {} with "
                         "empty audio), vocabulary of {} tokens, ERNIE {}x{} in {}/ernie",
                         s.classes, s.train_videos, s.val_videos, s.mean_labels, s.empty_audio, s.vocab_size,
                         ernie->config().num_hidden_layers, ernie->config().hidden_size, *out);
            return 0;
          }};
}

}  // namespace mvtag::cli
