#include "mvtag/train/trainer.h"

#include <chrono>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>

#include <nlohmann/json.hpp>
#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include "mvtag/batch/loader.h"
#include "mvtag/core/base/dir_lock.h"
#include "mvtag/core/base/error.h"
#include "mvtag/core/base/io.h"
#include "mvtag/core/config/schedule.h"
#include "mvtag/core/data/dataset.h"
#include "mvtag/core/interop/pretrained_ernie.h"
#include "mvtag/core/report/metrics.h"
#include "mvtag/core/report/progress.h"
#include "mvtag/core/report/training_plot.h"
#include "mvtag/dist/gradient_sync.h"
#include "mvtag/dist/process_group.h"
#include "mvtag/infer/predictor.h"
#include "mvtag/model/ernie_cache.h"
#include "mvtag/model/model.h"
#include "mvtag/model/model_dir.h"
#include "mvtag/model/weights.h"
#include "mvtag/train/checkpoint.h"
#include "mvtag/train/optimizer.h"

namespace mvtag {

namespace fs = std::filesystem;

namespace {

std::string timestamp() {
  const std::time_t now = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", std::localtime(&now));
  return buf;
}

nlohmann::json hit_json(const std::map<int, double>& hits) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [k, v] : hits) j[std::to_string(k)] = v;
  return j;
}

std::string hits_text(const std::map<int, double>& hits) {
  std::string s;
  for (const auto& [k, v] : hits) s += fmt::format(" Hit@{} {:.2f}", k, v);
  return s;
}

// Everything the run needs besides the network: text, labels, data.
struct Data {
  Tokenizer tokenizer;
  ClassMap classes;
  std::unique_ptr<Dataset> train;
  std::unique_ptr<Dataset> valid;
};

Data load_data(const Config& cfg, const std::string& vocab_path, bool need_valid) {
  Data d{Tokenizer::load(vocab_path), ClassMap::load(cfg.model.class_name_file, cfg.model.num_classes), nullptr,
         nullptr};
  DatasetOptions o = dataset_options_for(cfg, "TRAIN");
  d.train = std::make_unique<Dataset>(o, d.classes, d.tokenizer);
  spdlog::info("train data: {}", d.train->report().summary());
  if (d.train->size() == 0) {
    throw_error(ErrorKind::Data, "no usable training videos (see the counts above)", at_file(o.list_file));
  }
  if (need_valid) {
    o = dataset_options_for(cfg, "VALID");
    d.valid = std::make_unique<Dataset>(o, d.classes, d.tokenizer);
    spdlog::info("validation data: {}", d.valid->report().summary());
    if (d.valid->size() == 0) {
      throw_error(ErrorKind::Data, "no usable validation videos (see the counts above)", at_file(o.list_file));
    }
  }
  return d;
}

// The keys of a network config, flattened: "lstm_size_img", "ernie.hidden_size", ...
std::map<std::string, nlohmann::json> flat_keys(const NetConfig& config) {
  std::map<std::string, nlohmann::json> keys;
  const nlohmann::json j = net_config_to_json(config);
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it.key() == "ernie" && it.value().is_object()) {
      for (auto e = it.value().begin(); e != it.value().end(); ++e) keys["ernie." + e.key()] = e.value();
    } else {
      keys[it.key()] = it.value();
    }
  }
  return keys;
}

// Settings that change no tensor shape and no weight's meaning: a run that starts from a
// checkpoint's weights (--pretrain) takes them from the configuration.
bool is_training_setting(const std::string& key) {
  return key == "ernie_freeze" || key == "drop_rate" || key == "loss_type" || key == "ernie.hidden_dropout_prob" ||
         key == "ernie.attention_probs_dropout_prob";
}

// The configuration must describe the checkpoint's network. With `allow_training_settings`
// (--pretrain), the settings above may differ: each difference is logged and the
// configuration's value is used. --resume continues a run exactly, so there every key must match.
void check_same_architecture(const NetConfig& ours, const NetConfig& theirs, const std::string& dir,
                             bool allow_training_settings) {
  const auto want = flat_keys(ours), have = flat_keys(theirs);
  for (const auto& [key, value] : want) {
    const auto it = have.find(key);
    if (it == have.end() || it->second == value) continue;
    if (allow_training_settings && is_training_setting(key)) {
      spdlog::info("{} = {} from the configuration (the checkpoint in {} was trained with {})", key, value.dump(), dir,
                   it->second.dump());
      continue;
    }
    Location where = at_file((fs::path(dir) / kModelConfigFile).string());
    where.key = key;
    throw_error(ErrorKind::Config,
                "the checkpoint was built with " + it->second.dump() + " but the configuration gives " + value.dump() +
                    (allow_training_settings || !is_training_setting(key)
                         ? ""
                         : " (--resume continues a run exactly; use --pretrain to start a new run from these weights)"),
                where);
  }
}

class EpochLog {
 public:
  explicit EpochLog(const std::string& save_dir)
      : jsonl_((fs::path(save_dir) / "metrics.jsonl").string()),
        svg_((fs::path(save_dir) / "training_curve.svg").string()) {}

  // The file is small: rewriting it whole, atomically, means a full disk leaves the previous
  // lines intact instead of half a line at the end.
  void append(const nlohmann::json& line, const std::vector<EpochPoint>& history, const std::string& title) {
    const std::string previous = path_exists(jsonl_) ? read_file(jsonl_) : "";
    write_file_atomic(jsonl_, previous + line.dump() + "\n");
    write_file_atomic(svg_, training_curve_svg(history, title));
  }

 private:
  std::string jsonl_;
  std::string svg_;
};

// What every rank must agree on: the effective configuration and the run options that shape the
// run. Compared across ranks at start (ProcessGroup::check_same).
std::string run_fingerprint(const TrainOptions& opt) {
  return dump_config(opt.config) + "\n[run]\nresume = " + opt.resume + "\npretrain = " + opt.pretrain +
         "\nvalid_interval = " + std::to_string(opt.valid_interval) + "\nmax_steps = " + std::to_string(opt.max_steps) +
         "\nworld_size = " + std::to_string(opt.launch.world_size) + "\nversion = " + MVTAG_VERSION + "\n";
}

// What every rank must have read alike: each list's videos (names, titles, labels, in order),
// as a count and an FNV-1a hash, and the vocabulary's size. Copies of the data that differ
// between machines would otherwise train on mismatched batches without a word.
std::string data_fingerprint(const Dataset& data, const char* what) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  auto mix = [&](const std::string& bytes) {
    for (const unsigned char c : bytes) h = (h ^ c) * 0x100000001b3ULL;
    h = (h ^ 0xff) * 0x100000001b3ULL;  // a separator, so "ab","c" differs from "a","bc"
  };
  for (std::size_t i = 0; i < data.size(); ++i) {
    const VideoItem& v = data.item(i);
    mix(v.name);
    mix(v.title);
    std::string labels;
    for (int c : v.labels) labels += std::to_string(c) + ",";
    mix(labels);
  }
  return fmt::format("{} = {} videos, hash {:016x}\n", what, data.size(), h);
}

// The seed of rank r's own random stream (dropout): rank 0 keeps the run's seed, as one process.
std::uint64_t rank_seed(std::uint64_t seed, int rank, std::int64_t step) {
  std::uint64_t z = seed ^ (static_cast<std::uint64_t>(rank) * 0x9e3779b97f4a7c15ULL) ^
                    (static_cast<std::uint64_t>(step) * 0xbf58476d1ce4e5b9ULL);
  z = (z ^ (z >> 31)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 29);
}

}  // namespace


TrainResult train(const TrainOptions& opt, const torch::Device& device) {
  const Config& cfg = opt.config;
  const bool validate = opt.valid_interval > 0;
  TrainResult result;
  // Data parallelism (dist/): join the other ranks first, so a rank that cannot join fails
  // before anything slow. Only rank 0 writes (checkpoints, metrics, curve) and logs at info level.
  std::unique_ptr<ProcessGroup> group;
  if (opt.launch.distributed()) {
    if (opt.dist_timeout < 1) throw_error(ErrorKind::Usage, "--dist_timeout must be at least 1 second");
    DistOptions dist;
    dist.timeout = std::chrono::seconds(opt.dist_timeout);
    group = ProcessGroup::join(opt.launch, dist, device);
    group->check_same("configurations", run_fingerprint(opt));
    spdlog::info("data parallel: {} ranks ({}), global batch {}, {} per rank", group->size(), group->backend_name(),
                 cfg.train.batch_size, fmt::format("{}-{}", cfg.train.batch_size / group->size(),
                                                   (cfg.train.batch_size + group->size() - 1) / group->size()));
    if (cfg.train.batch_size < group->size()) {
      spdlog::warn("TRAIN.batch_size {} is smaller than the {} ranks: some ranks get no sample in a step",
                   cfg.train.batch_size, group->size());
    }
  }
  const bool main_rank = !group || group->rank() == 0;
  // A few numbers summed over the ranks (as they are in one process). Decisions that change the
  // step sequence (stop, skip, a non-finite loss) are taken from such sums, so every rank takes
  // them together.
  const auto sum_over_ranks = [&](std::vector<double> values, const char* what) {
    if (!group) return values;
    torch::Tensor t = torch::tensor(values, torch::kFloat64);
    group->all_reduce_sum(t, what);
    const double* summed = t.data_ptr<double>();
    return std::vector<double>(summed, summed + values.size());
  };
  const TensorSum sum_validation = [&](torch::Tensor& t) { group->all_reduce_sum(t, "validation results"); };
  // Before anything slow: a directory the run cannot write to, or one another run is writing
  // to, is refused now rather than when the first checkpoint is due.
  std::optional<DirectoryLock> save_dir_lock;
  if (main_rank) save_dir_lock.emplace(opt.save_dir, "train");

  const PretrainedErnie pretrained = read_pretrained_ernie(cfg.train.ernie_pretrain_dict_path);
  const NetConfig net_config = net_config_from(cfg, pretrained.config);
  Data data = load_data(cfg, pretrained.vocab_path, validate);
  check_vocab_fits(data.tokenizer.vocab(), pretrained.config, pretrained.vocab_path);
  if (group) {
    group->check_same("data sets", data_fingerprint(*data.train, "train") +
                                       (data.valid ? data_fingerprint(*data.valid, "valid") : std::string()) +
                                       fmt::format("vocabulary = {} tokens\n", data.tokenizer.vocab().size()));
  }

  TrainState state;
  state.seed = static_cast<std::uint64_t>(cfg.train.seed);
  torch::manual_seed(state.seed);
  VideoTagNet net(net_config);

  if (!opt.resume.empty()) {
    if (!is_checkpoint(opt.resume)) {
      throw_error(ErrorKind::Io, "not a training checkpoint (state.json or optimizer.safetensors missing)",
                  at_file(opt.resume));
    }
    check_same_architecture(net_config, read_net_config((fs::path(opt.resume) / kModelConfigFile).string()), opt.resume,
                            false);
    load_weights(*net, (fs::path(opt.resume) / kModelWeightsFile).string());
    state = read_train_state(opt.resume);
    spdlog::info("resuming from {}: {} epochs and {} steps done", opt.resume, state.epoch, state.step);
  } else if (!opt.pretrain.empty()) {
    check_same_architecture(net_config, read_net_config((fs::path(opt.pretrain) / kModelConfigFile).string()),
                            opt.pretrain, true);
    load_weights(*net, (fs::path(opt.pretrain) / kModelWeightsFile).string());
    spdlog::info("all weights loaded from {}", opt.pretrain);
  } else if (pretrained.format == "none") {
    spdlog::warn("{} holds no ERNIE weights: the text encoder starts from random initialisation{}", pretrained.dir,
                 net_config.ernie_freeze ? " and stays frozen (MODEL.ernie_freeze)" : "");
  } else {
    load_module_arrays(*net->ernie, pretrained.weights, pretrained.dir, "ernie.");
    spdlog::info("ERNIE weights loaded from {} ({} format)", pretrained.dir, pretrained.format);
  }
  net->to(device);
  if (group) {
    // Every rank starts from rank 0's weights (they are equal already when every rank read the same
    // files; this makes it certain), then draws its own dropout masks.
    std::vector<torch::Tensor> state_tensors;
    for (const auto& p : net->parameters()) state_tensors.push_back(p.detach());
    for (const auto& b : net->buffers()) state_tensors.push_back(b);
    group->broadcast(state_tensors, 0, "the initial weights");
  }

  PaddleRmsprop optimizer(net->trainable_parameters(),
                          RmspropOptions{0.95, 1e-6, 0.0, true, cfg.train.l2_weight_decay},
                          no_weight_decay_parameters());
  if (!opt.resume.empty()) {
    load_optimizer_state(opt.resume, optimizer, device);
    restore_generator_state(torch::kCPU, state.cpu_rng);
    if (device.is_cuda()) restore_generator_state(device, state.cuda_rng);
  }
  if (group && group->rank() > 0) torch::manual_seed(rank_seed(state.seed, group->rank(), state.step));
  std::unique_ptr<GradientSync> gradient_sync;
  if (group) {
    std::vector<torch::Tensor> trained;
    for (const auto& [name, p] : net->trainable_parameters()) trained.push_back(p);
    gradient_sync = std::make_unique<GradientSync>(*group, std::move(trained));
  }

  const LearningRateSchedule schedule(schedule_options_for(cfg));

  LoaderOptions lo;
  lo.batch_size = static_cast<std::size_t>(cfg.train.batch_size);
  lo.num_workers = cfg.train.num_workers;
  lo.shuffle = true;
  lo.reshuffle = cfg.train.reshuffle;
  lo.seed = state.seed;
  if (group) {
    lo.num_shards = group->size();
    lo.shard = group->rank();
  }
  Loader train_loader(*data.train, lo, data.tokenizer.vocab().pad_id());
  std::unique_ptr<Loader> valid_loader;
  if (validate) {
    LoaderOptions vo = lo;
    vo.batch_size = static_cast<std::size_t>(cfg.valid.batch_size);
    vo.shuffle = false;
    vo.reshuffle = false;
    // A frozen ERNIE's validation outputs are cached (below), so the LSTMs set the pace: bucket by
    // frames; otherwise by title length, for ERNIE.
    vo.bucketing = net_config.ernie_freeze ? Bucketing::Frames : Bucketing::Title;
    valid_loader = std::make_unique<Loader>(*data.valid, vo, data.tokenizer.vocab().pad_id());
  }

  // A frozen ERNIE's encodings, computed once (model/ernie_cache.h): the validation titles first
  // (exact: validation runs ERNIE in eval mode anyway), then, with TRAIN.ernie_cache, the training
  // titles (which drops ERNIE's dropout from training; docs/COMPAT.md).
  std::unique_ptr<ErnieCache> valid_cache, train_cache;
  if (net_config.ernie_freeze) {
    std::size_t budget = static_cast<std::size_t>(cfg.train.ernie_cache_mb) << 20;
    ErnieCacheOptions co;
    if (group) {  // each rank encodes its share of the chunks; the sum gives every rank all of them
      co.num_shards = group->size();
      co.shard = group->rank();
      co.sum = [&](torch::Tensor& t) { group->all_reduce_sum(t, "the ERNIE cache"); };
    }
    if (validate) {
      co.budget_bytes = budget;
      co.label = "validation titles";
      valid_cache = std::make_unique<ErnieCache>(*net->ernie, data.valid->texts(), data.tokenizer.vocab().pad_id(),
                                                 device, co);
      budget -= std::min(budget, valid_cache->stats().bytes);
    }
    if (cfg.train.ernie_cache) {
      co.budget_bytes = budget;
      co.fp16 = cfg.train.ernie_cache_fp16;
      co.label = "training titles";
      train_cache = std::make_unique<ErnieCache>(*net->ernie, data.train->texts(), data.tokenizer.vocab().pad_id(),
                                                 device, co);
    }
  }

  const std::string best_dir = (fs::path(opt.save_dir) / "best").string();
  const std::string last_dir = (fs::path(opt.save_dir) / "last").string();
  if (opt.resume.empty() && main_rank) {
    if (path_exists(last_dir)) {
      spdlog::warn("{} holds an earlier run; starting afresh overwrites it (continue it with --resume {})",
                   opt.save_dir, last_dir);
    }
    fs::remove(fs::path(opt.save_dir) / "metrics.jsonl");
  }
  EpochLog log(opt.save_dir);
  MetricsOptions mo;
  mo.hit_ks = cfg.model.top_n;

  std::int64_t trained = 0;
  for (const auto& [name, p] : net->trainable_parameters()) trained += p.numel();
  spdlog::info("training on {}: {} videos, {} batches of {} per epoch, epochs {}..{}, {} trained parameters{}",
               device.str(), data.train->size(), train_loader.batches_per_epoch(), lo.batch_size, state.epoch + 1,
               cfg.train.epoch, trained, net_config.ernie_freeze ? " (ERNIE frozen)" : "");

  const auto stop_requested = [&] { return opt.stop != nullptr && opt.stop->requested(); };
  auto save_last = [&] {
    result.last_dir = last_dir;
    if (!main_rank) return;
    const StopToken::CriticalSection saving(opt.stop);
    state.cpu_rng = generator_state(torch::kCPU);
    state.cuda_rng = device.is_cuda() ? generator_state(device) : "";
    save_checkpoint(last_dir, *net, data.tokenizer.vocab(), data.classes, optimizer, state);
    result.last_dir = last_dir;
  };

  auto summarise = [&] {
    if (result.interrupted && stop_requested()) result.stop_reason = opt.stop->reason();
    result.epochs_completed = state.epoch;
    result.steps = state.step;
    result.best_hit1 = state.validation.best_hit1;
    result.best_epoch = state.validation.best_epoch;
    result.best_dir = state.validation.best_epoch > 0 ? best_dir : "";
    result.last_dir = last_dir;
    return result;
  };

  std::int64_t steps_this_run = 0;
  for (std::int64_t epoch = state.epoch; epoch < cfg.train.epoch; ++epoch) {
    const std::size_t skip = static_cast<std::size_t>(state.batch_in_epoch);
    train_loader.start_epoch(epoch, skip);
    net->train();
    MetricsAccumulator train_metrics(static_cast<int>(net_config.num_classes), mo);
    LossMeter train_loss;
    Progress progress(fmt::format("epoch {}/{}", epoch + 1, cfg.train.epoch),
                      static_cast<std::int64_t>(data.train->size() - std::min(data.train->size(), skip * lo.batch_size)),
                      "videos");
    double lr = schedule.at(state.step);
    std::size_t local_videos = 0;
    std::int64_t epoch_steps = 0;
    const double wait_before = gradient_sync ? gradient_sync->wait_seconds() : 0.0;
    while (auto batch = train_loader.next()) {
      lr = schedule.at(state.step);
      // A rank whose part of this batch is empty (data parallel) computes nothing but still takes
      // part in the gradient all-reduce, with zeros.
      const bool has_samples = batch->size() > 0;
      torch::Tensor logits, loss;
      optimizer.zero_grad();
      if (gradient_sync) gradient_sync->begin_step();
      if (has_samples) {
        NetInput input = batch->input.to(device);
        if (train_cache) input.text_encoded = train_cache->encode(batch->indices, input.text_ids, input.text_len);
        const torch::Tensor labels = batch->labels.to(device);
        logits = net->forward(input);
        loss = net->loss(logits, labels);
        loss.backward();
      }
      if (gradient_sync) gradient_sync->finish_step();
      // The global batch's loss and size: every rank decides from the same numbers.
      const std::vector<double> step_sums = sum_over_ranks(
          {has_samples ? loss.item<double>() : 0.0, static_cast<double>(batch->size()), stop_requested() ? 1.0 : 0.0},
          "the batch loss");
      const double loss_value = step_sums[0], batch_videos = step_sums[1];
      if (batch_videos == 0) continue;  // no rank could read a sample of this batch: one process skips it too
      if (!std::isfinite(loss_value)) {
        throw_error(ErrorKind::Runtime, fmt::format("the loss became {} at step {} (epoch {}); try a lower "
                                                    "TRAIN.learning_rate",
                                                    loss_value, state.step, epoch + 1));
      }
      optimizer.step(lr);
      ++state.step;
      ++epoch_steps;
      state.batch_in_epoch = static_cast<std::int64_t>(train_loader.position());
      ++steps_this_run;

      if (has_samples) {
        const torch::Tensor probs = net->probabilities(logits.detach()).to(torch::kCPU, torch::kFloat32).contiguous();
        const torch::Tensor cpu_labels = batch->labels.contiguous();
        train_metrics.add(probs.data_ptr<float>(), cpu_labels.data_ptr<float>(), static_cast<std::size_t>(batch->size()));
        local_videos += static_cast<std::size_t>(batch->size());
      }
      train_loss.add(loss_value, static_cast<std::size_t>(batch_videos));
      progress.advance(static_cast<std::int64_t>(batch_videos),
                       fmt::format("loss {:.4f} lr {:.3g}", train_loss.per_sample(), lr));
      // The running metrics are only computed when the line will be shown: MetricsAccumulator::finish() ranks every
      // pair seen so far, too much work for a line nobody reads.
      if (opt.log_interval > 0 && state.step % opt.log_interval == 0 && spdlog::should_log(spdlog::level::debug)) {
        spdlog::debug("{}", original_metrics_line(fmt::format("[TRAIN] Epoch {} iter {} everage: ", epoch, state.step),
                                                  train_loss.original(), train_metrics.finish().hit_at));
      }
      // With ranks, a stop requested on any of them before this step's sums; alone, polled now.
      if ((group ? step_sums[2] > 0 : stop_requested()) || (opt.max_steps > 0 && steps_this_run >= opt.max_steps)) {
        progress.finish();
        save_last();
        result.interrupted = true;
        result.skipped_samples += train_loader.skipped().size();  // this rank's
        spdlog::info("stopped at step {} (epoch {}, batch {}); continue with --resume {}", state.step, epoch + 1,
                     state.batch_in_epoch, last_dir);
        return summarise();
      }
    }
    const double train_seconds = progress.finish(fmt::format("loss {:.4f}", train_loss.per_sample()));
    if (train_loss.count() == 0) {
      throw_error(ErrorKind::Data, "no training batch could be read in epoch " + std::to_string(epoch + 1));
    }
    MetricsReport train_report = train_metrics.finish();
    std::size_t train_skipped = train_loader.skipped().size();
    if (group) {
      // Hit@k over the whole epoch: each rank's hits weighted by its videos, and the skipped counts.
      std::vector<double> values{static_cast<double>(local_videos), static_cast<double>(train_skipped)};
      for (const auto& [k, hit] : train_report.hit_at) values.push_back(hit * static_cast<double>(local_videos));
      values = sum_over_ranks(std::move(values), "the epoch's training metrics");
      train_skipped = static_cast<std::size_t>(values[1]);
      std::size_t i = 2;
      for (auto& [k, hit] : train_report.hit_at) hit = values[0] > 0 ? values[i++] / values[0] : 0.0;
    }
    result.skipped_samples += train_skipped;

    EpochPoint point;
    point.epoch = static_cast<int>(epoch + 1);
    point.train_loss = train_loss.per_sample();
    point.train_hit1 = train_report.hit_at.count(1) ? train_report.hit_at.at(1) : 0.0;
    nlohmann::json line = {{"epoch", epoch + 1},
                           {"step", state.step},
                           {"lr", lr},
                           {"time", timestamp()},
                           {"train",
                            {{"videos", train_loss.count()},
                             {"loss", train_loss.per_sample()},
                             {"loss_original", train_loss.original()},
                             {"hit_at", hit_json(train_report.hit_at)},
                             {"seconds", train_seconds},
                             {"videos_per_second", train_loss.count() / std::max(train_seconds, 1e-9)},
                             {"skipped", train_skipped}}}};
    std::string summary = fmt::format("epoch {}/{}: train loss {:.4f}{}", epoch + 1, cfg.train.epoch,
                                      train_loss.per_sample(), hits_text(train_report.hit_at));
    if (gradient_sync) {
      // The part of the gradient all-reduce that backward did not hide (rank 0's view).
      const double wait = gradient_sync->wait_seconds() - wait_before;
      line["data_parallel"] = {{"ranks", group->size()},
                               {"backend", group->backend_name()},
                               {"gradient_buckets", gradient_sync->num_buckets()},
                               {"allreduce_wait_seconds", wait},
                               {"allreduce_wait_ms_per_step", epoch_steps > 0 ? 1e3 * wait / epoch_steps : 0.0}};
      spdlog::info("data parallel: {} ranks, waited {:.1f} ms per step for gradient all-reduces ({} buckets)",
                   group->size(), epoch_steps > 0 ? 1e3 * wait / epoch_steps : 0.0, gradient_sync->num_buckets());
    }

    state.epoch = epoch + 1;
    state.batch_in_epoch = 0;
    bool improved = false;
    if (validate && (epoch + 1) % opt.valid_interval == 0) {
      const EvalResult val =
          evaluate(*net, *valid_loader, device, mo, "validation", valid_cache.get(), group ? &sum_validation : nullptr);
      result.skipped_samples += val.stats.skipped;
      const double hit1 = val.metrics.hit_at.count(1) ? val.metrics.hit_at.at(1) : val.metrics.yt8m_hit1 * 100;
      point.val_loss = val.loss;
      point.val_hit1 = hit1;
      line["valid"] = {{"videos", val.metrics.num_videos},
                       {"loss", val.loss},
                       {"loss_original", val.loss_original},
                       {"hit_at", hit_json(val.metrics.hit_at)},
                       {"yt8m_hit1", val.metrics.yt8m_hit1},
                       {"perr", val.metrics.perr},
                       {"gap", val.metrics.gap},
                       {"map", val.metrics.map},
                       {"skipped", val.stats.skipped}};
      summary += fmt::format(" | valid loss {:.4f}{} GAP {:.4f}", val.loss, hits_text(val.metrics.hit_at),
                             val.metrics.gap);
      improved = state.validation.record(hit1, epoch + 1);
    }
    line["best"] = improved;
    state.history.push_back(point);
    if (improved) {
      const StopToken::CriticalSection saving(opt.stop);
      if (main_rank) save_model_directory(best_dir, *net, data.tokenizer.vocab(), data.classes);
      summary += fmt::format(" | new best, saved {}", best_dir);
    } else if (state.validation.best_epoch > 0) {
      summary += fmt::format(" | best {:.2f} (epoch {})", state.validation.best_hit1, state.validation.best_epoch);
    }
    save_last();
    if (main_rank) log.append(line, state.history, "mvtag train: " + opt.save_dir);
    spdlog::info("{}", summary);

    if (state.validation.should_stop(cfg.train.early_stop)) {
      spdlog::info("early stop: no better validation Hit@1 in the last {} validations", state.validation.bad_validations);
      result.early_stopped = true;
      break;
    }
    if (sum_over_ranks({stop_requested() ? 1.0 : 0.0}, "the stop decision")[0] > 0) {
      result.interrupted = true;
      break;
    }
  }
  return summarise();
}

}  // namespace mvtag
