#include "mvtag/core/data/demo_data.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "mvtag/core/base/error.h"
#include "mvtag/core/base/io.h"
#include "mvtag/core/data/features.h"
#include "mvtag/core/text/utf8.h"
#include "mvtag/core/text/vocab.h"

namespace mvtag {

namespace {

// A small deterministic generator (SplitMix64): the same data on every platform and library.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  int below(int n) { return static_cast<int>(uniform() * n); }
  bool chance(double p) { return uniform() < p; }
  double normal() {
    const double u1 = std::max(uniform(), 1e-300), u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }

 private:
  std::uint64_t state_;
};

struct DemoClass {
  const char* name;
  std::vector<const char*> keywords;
};

// Classes come in pairs of one first-level category. The image features show the category
// (the pair), the audio shows the class's parity and a second grouping, and the title names the
// class only some of the time: every modality is needed to be sure.
const std::vector<DemoClass>& demo_classes() {
  static const std::vector<DemoClass> classes = {
      {"美食-烹饪", {"做饭", "炒菜", "食谱"}}, {"美食-探店", {"探店", "好吃", "餐厅"}},
      {"萌宠-猫咪", {"猫咪", "喵星", "撸猫"}}, {"萌宠-狗狗", {"狗狗", "汪星", "遛狗"}},
      {"运动-篮球", {"篮球", "投篮", "球场"}}, {"运动-健身", {"健身", "减脂", "撸铁"}},
      {"音乐-翻唱", {"翻唱", "歌曲", "好听"}}, {"音乐-乐器", {"吉他", "钢琴", "弹奏"}},
      {"旅行-风景", {"风景", "旅行", "日落"}}, {"游戏-手游", {"手游", "上分", "王者"}},
      {"拍人-帅哥", {"帅哥", "男神", "颜值"}}, {"搞笑-段子", {"搞笑", "段子", "爆笑"}},
  };
  return classes;
}

int image_group(int c) { return c / 2; }
int audio_group(int c) { return (c % 2) + 2 * ((c / 2) % 3); }

const char* const kFiller = "的了我你这是一个天今来看太真啦吧最新日常分享超级好记录生活小大家都在和也有么什怎样第次又去人们会说就要快乐开心起床周末晚上早";
const std::vector<std::string> kLatin = {"vlog", "diy", "ok", "2024", "top10"};
const std::vector<std::string> kLatinPieces = {"vlog", "diy", "ok", "20", "##24", "top", "##10"};

std::vector<std::string> utf8_chars(const std::string& s) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t n = decode_utf8(s, i).length;
    out.push_back(s.substr(i, n));
    i += n;
  }
  return out;
}

std::vector<float> random_prototype(Rng& rng, int dim) {
  std::vector<float> p(static_cast<std::size_t>(dim));
  for (auto& v : p) v = static_cast<float>(rng.normal());
  return p;
}

std::vector<int> sample_labels(Rng& rng, int num_classes) {
  std::vector<int> labels = {rng.below(num_classes)};
  if (rng.chance(0.5)) {
    // Often a class of the same category, otherwise any other class.
    const int sibling = labels[0] ^ 1;
    labels.push_back(rng.chance(0.6) ? sibling : rng.below(num_classes));
  }
  if (rng.chance(0.15)) labels.push_back(rng.below(num_classes));
  std::sort(labels.begin(), labels.end());
  labels.erase(std::unique(labels.begin(), labels.end()), labels.end());
  return labels;
}

// Frames of one video: most show one of `shown` (the video's visible labels), some show a
// random other prototype (a distractor) and some show nothing in particular; all are noisy.
FeatureMatrix frames(Rng& rng, int rows, int dim, const std::vector<const std::vector<float>*>& shown,
                     const std::vector<std::vector<float>>& all, double noise, double distractor_rate) {
  FeatureMatrix m;
  m.rows = rows;
  m.cols = dim;
  m.data.resize(static_cast<std::size_t>(rows) * dim);
  for (int t = 0; t < rows; ++t) {
    const std::vector<float>* p = nullptr;
    const double u = rng.uniform();
    if (u < distractor_rate || shown.empty()) {
      p = &all[static_cast<std::size_t>(rng.below(static_cast<int>(all.size())))];
    } else if (u < 0.85) {
      p = shown[static_cast<std::size_t>(rng.below(static_cast<int>(shown.size())))];
    }
    for (int d = 0; d < dim; ++d) {
      m.data[static_cast<std::size_t>(t) * dim + d] =
          static_cast<float>((p ? (*p)[d] : 0.0f) + noise * rng.normal());
    }
  }
  return m;
}

std::string title_for(Rng& rng, const std::vector<int>& labels, const std::vector<std::string>& filler,
                      double keyword_rate) {
  const auto& classes = demo_classes();
  auto pick = [&](const auto& v) { return v[static_cast<std::size_t>(rng.below(static_cast<int>(v.size())))]; };
  std::vector<std::string> parts;
  const int n_filler = 2 + rng.below(6);
  for (int i = 0; i < n_filler; ++i) parts.push_back(pick(filler));
  auto insert = [&](const std::string& w) {
    parts.insert(parts.begin() + rng.below(static_cast<int>(parts.size()) + 1), w);
  };
  for (int c : labels) {
    if (rng.chance(keyword_rate)) insert(pick(classes[static_cast<std::size_t>(c)].keywords));
  }
  if (rng.chance(0.08)) insert(pick(classes).keywords[0]);  // a misleading keyword of another class
  if (rng.chance(0.15)) insert(pick(kLatin));

  const bool bracket = rng.chance(0.2);
  std::string title = bracket ? "【" : "";
  for (const auto& p : parts) {
    const bool latin = static_cast<unsigned char>(p[0]) < 0x80;
    if (latin && !title.empty() && title.back() != ' ') title += ' ';
    title += p;
    if (latin) title += ' ';
  }
  if (!title.empty() && title.back() == ' ') title.pop_back();
  if (bracket) title += "】";
  if (rng.chance(0.3)) title += rng.chance(0.5) ? "！" : "？";
  return title;
}

std::string hex_name(Rng& rng) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (int i = 0; i < 2; ++i) {
    std::uint64_t x = rng.next();
    for (int k = 0; k < 16; ++k, x >>= 4) s += digits[x & 15];
  }
  return s;
}

}  // namespace

ErnieConfig demo_ernie_config(int vocab_size) {
  ErnieConfig c;
  c.vocab_size = vocab_size;
  c.hidden_size = 64;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.intermediate_size = 256;
  c.max_position_embeddings = 64;
  c.type_vocab_size = 2;
  return c;
}

DemoSummary write_demo_data(const std::string& dir, const DemoOptions& o) {
  if (o.train_videos < 1 || o.val_videos < 1 || o.rgb_dim < 1 || o.audio_dim < 1 || o.min_frames < 1 ||
      o.max_frames < o.min_frames) {
    throw_error(ErrorKind::Usage, "demo options out of range (videos, dims and frames must be positive)");
  }
  const auto& classes = demo_classes();
  const int num_classes = static_cast<int>(classes.size());
  Rng rng(o.seed);

  std::vector<std::vector<float>> rgb_proto, audio_proto;
  for (int g = 0; g < (num_classes + 1) / 2; ++g) rgb_proto.push_back(random_prototype(rng, o.rgb_dim));
  for (int g = 0; g < 6; ++g) audio_proto.push_back(random_prototype(rng, o.audio_dim));

  // Vocabulary: specials, every character of the filler and keywords, punctuation, Latin pieces.
  const std::vector<std::string> filler = utf8_chars(kFiller);
  std::vector<std::string> tokens = {"[PAD]", "[CLS]", "[SEP]", "[MASK]"};
  std::set<std::string> seen(tokens.begin(), tokens.end());
  auto add = [&](const std::string& t) {
    if (seen.insert(t).second) tokens.push_back(t);
  };
  for (const auto& ch : filler) add(ch);
  for (const auto& c : classes)
    for (const char* kw : c.keywords)
      for (const auto& ch : utf8_chars(kw)) add(ch);
  for (const char* p : {"！", "？", "【", "】", "，"}) add(p);
  for (const auto& p : kLatinPieces) add(p);
  add("[UNK]");

  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(fs::path(dir) / "feature_files", ec);
  fs::create_directories(fs::path(dir) / "ernie", ec);
  if (ec) throw_error(ErrorKind::Io, "cannot create the demo directory: " + ec.message(), at_file(dir));

  DemoSummary summary;
  summary.classes = num_classes;
  int total_labels = 0;
  auto write_split = [&](const std::string& list_name, int count) {
    std::string list;
    for (int i = 0; i < count; ++i) {
      const std::vector<int> labels = sample_labels(rng, num_classes);
      std::vector<const std::vector<float>*> rgb_p, audio_p;
      for (int c : labels) {
        // Some labels do not show in the pictures or the sound at all (only, maybe, in the title).
        if (!rng.chance(o.hidden_label_rate)) rgb_p.push_back(&rgb_proto[static_cast<std::size_t>(image_group(c))]);
        if (!rng.chance(o.hidden_label_rate)) {
          audio_p.push_back(&audio_proto[static_cast<std::size_t>(audio_group(c))]);
        }
      }
      VideoFeatures f;
      f.video_id = hex_name(rng);
      const int t = o.min_frames + rng.below(o.max_frames - o.min_frames + 1);
      f.rgb = frames(rng, t, o.rgb_dim, rgb_p, rgb_proto, o.rgb_noise, o.distractor_rate);
      const bool silent = rng.chance(0.04);
      f.audio = frames(rng, silent ? 0 : std::max(1, t / 2 + rng.below(4)), o.audio_dim, audio_p, audio_proto,
                       o.audio_noise, o.distractor_rate);
      f.audio_was_empty = silent;
      summary.empty_audio += silent ? 1 : 0;
      write_video_features((fs::path(dir) / "feature_files" / (f.video_id + ".pkl")).string(), f);

      std::string names;
      for (int c : labels) names += (names.empty() ? "" : ",") + std::string(classes[static_cast<std::size_t>(c)].name);
      list += f.video_id + ".mp4\t" + title_for(rng, labels, filler, o.title_keyword_rate) + "\t" + names + "\n";
      total_labels += static_cast<int>(labels.size());
    }
    write_file_atomic((fs::path(dir) / list_name).string(), list);
  };
  write_split("train.txt", o.train_videos);
  write_split("val.txt", o.val_videos);

  std::string class_txt;
  for (const auto& c : classes) class_txt += std::string(c.name) + "\n";
  write_file_atomic((fs::path(dir) / "class.txt").string(), class_txt);

  const Vocab vocab = Vocab::from_tokens(tokens, "demo vocabulary");
  write_vocab(vocab, (fs::path(dir) / "ernie" / "vocab.txt").string());
  summary.ernie = demo_ernie_config(static_cast<int>(tokens.size()));
  write_ernie_config((fs::path(dir) / "ernie" / "ernie_config.json").string(), summary.ernie);

  summary.train_videos = o.train_videos;
  summary.val_videos = o.val_videos;
  summary.vocab_size = static_cast<int>(tokens.size());
  summary.mean_labels = static_cast<double>(total_labels) / (o.train_videos + o.val_videos);
  return summary;
}

}  // namespace mvtag
