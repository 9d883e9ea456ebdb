#include <filesystem>
#include <numeric>
#include <set>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "mvtag/batch/loader.h"
#include "mvtag/core/base/error.h"
#include "mvtag/core/base/io.h"
#include "mvtag/core/data/demo_data.h"

using namespace mvtag;
namespace fs = std::filesystem;

namespace {

class DemoSet : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = (fs::temp_directory_path() / ("mvtag_loader_" + std::to_string(::getpid()))).string();
    DemoOptions o;
    o.train_videos = 13;
    o.val_videos = 2;
    o.rgb_dim = 5;
    o.audio_dim = 3;
    write_demo_data(dir_, o);
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }

  Dataset dataset(const std::string& list = "train.txt") const {
    DatasetOptions o;
    o.list_file = dir_ + "/" + list;
    o.feature_dir = dir_ + "/feature_files";
    o.rgb_dim = 5;
    o.audio_dim = 3;
    return Dataset(o, classes_, tokenizer_);
  }

  static std::string dir_;
  ClassMap classes_ = ClassMap::load(dir_ + "/class.txt", 12);
  Tokenizer tokenizer_ = Tokenizer::load(dir_ + "/ernie/vocab.txt");
};
std::string DemoSet::dir_;

std::vector<Batch> drain(Loader& loader, std::int64_t epoch, std::size_t skip = 0) {
  std::vector<Batch> out;
  loader.start_epoch(epoch, skip);
  while (auto b = loader.next()) out.push_back(std::move(*b));
  return out;
}

}  // namespace

TEST(EpochOrder, IsADeterministicPermutationThatChangesEachEpoch) {
  const auto a = epoch_order(50, true, 7, 0);
  EXPECT_EQ(a, epoch_order(50, true, 7, 0));
  EXPECT_NE(a, epoch_order(50, true, 7, 1));
  EXPECT_NE(a, epoch_order(50, true, 8, 0));
  std::vector<std::size_t> sorted = a;
  std::sort(sorted.begin(), sorted.end());
  std::vector<std::size_t> identity(50);
  std::iota(identity.begin(), identity.end(), 0);
  EXPECT_EQ(sorted, identity);
  EXPECT_NE(a, identity);
  EXPECT_EQ(epoch_order(50, false, 7, 3), identity);
  // A fixed value guards against accidental changes of the stream (runs must stay reproducible).
  EXPECT_EQ(epoch_order(8, true, 0, 0), (std::vector<std::size_t>{1, 0, 3, 5, 6, 7, 2, 4}));
}

TEST(Collate, PadsEachModalityToTheBatchMaximum) {
  Sample a, b;
  a.index = 0;
  a.rgb = {2, 2, {1, 2, 3, 4}};
  a.audio = {1, 1, {5}};
  a.text.token_ids = {1, 9, 2};
  a.labels = {0, 2};
  b.index = 1;
  b.rgb = {1, 2, {7, 8}};
  b.audio = {3, 1, {1, 2, 3}};
  b.text.token_ids = {1, 2};
  b.labels = {1};
  const Batch batch = collate({a, b}, 3, 0);
  EXPECT_TRUE(torch::equal(batch.input.rgb, torch::tensor(std::vector<float>{1.f, 2, 3, 4, 7, 8, 0, 0}).view({2, 2, 2})));
  EXPECT_TRUE(torch::equal(batch.input.rgb_len, torch::tensor({2, 1}, torch::kInt64)));
  EXPECT_TRUE(torch::equal(batch.input.audio, torch::tensor(std::vector<float>{5.f, 0, 0, 1, 2, 3}).view({2, 3, 1})));
  EXPECT_TRUE(torch::equal(batch.input.audio_len, torch::tensor({1, 3}, torch::kInt64)));
  EXPECT_TRUE(torch::equal(batch.input.text_ids, torch::tensor({1, 9, 2, 1, 2, 0}, torch::kInt64).view({2, 3})));
  EXPECT_TRUE(torch::equal(batch.input.text_len, torch::tensor({3, 2}, torch::kInt64)));
  EXPECT_TRUE(torch::equal(batch.labels, torch::tensor(std::vector<float>{1.f, 0, 1, 0, 1, 0}).view({2, 3})));
}

TEST(Collate, RejectsMixedFeatureWidths) {
  Sample a, b;
  a.rgb = {1, 2, {1, 2}};
  b.rgb = {1, 3, {1, 2, 3}};
  a.audio = b.audio = {1, 1, {0}};
  a.text.token_ids = b.text.token_ids = {1, 2};
  EXPECT_THROW(collate({a, b}, 1, 0), Error);
}

TEST_F(DemoSet, BatchesDoNotDependOnTheNumberOfWorkers) {
  const Dataset data = dataset();
  ASSERT_EQ(data.size(), 13u);
  LoaderOptions o;
  o.batch_size = 4;
  o.shuffle = true;
  o.seed = 11;
  o.num_workers = 0;
  Loader serial(data, o, 0);
  o.num_workers = 3;
  o.prefetch = 1;
  Loader threaded(data, o, 0);
  EXPECT_EQ(serial.batches_per_epoch(), 4u);
  for (std::int64_t epoch = 0; epoch < 2; ++epoch) {
    const auto a = drain(serial, epoch), b = drain(threaded, epoch);
    ASSERT_EQ(a.size(), 4u);
    ASSERT_EQ(b.size(), 4u);
    std::set<std::size_t> seen;
    for (std::size_t i = 0; i < a.size(); ++i) {
      EXPECT_EQ(a[i].indices, b[i].indices);
      EXPECT_TRUE(torch::equal(a[i].input.rgb, b[i].input.rgb));
      EXPECT_TRUE(torch::equal(a[i].input.text_ids, b[i].input.text_ids));
      seen.insert(a[i].indices.begin(), a[i].indices.end());
    }
    EXPECT_EQ(seen.size(), 13u);  // every video exactly once per epoch
    EXPECT_EQ(a.back().size(), 1);
  }
}

TEST_F(DemoSet, SkipBatchesResumesInsideAnEpoch) {
  const Dataset data = dataset();
  LoaderOptions o;
  o.batch_size = 4;
  o.shuffle = true;
  Loader loader(data, o, 0);
  const auto all = drain(loader, 2);
  const auto rest = drain(loader, 2, 2);
  ASSERT_EQ(rest.size(), 2u);
  EXPECT_EQ(rest[0].indices, all[2].indices);
  EXPECT_EQ(rest[1].indices, all[3].indices);
}

TEST_F(DemoSet, UnreadableSamplesAreSkippedByName) {
  const Dataset good = dataset();
  // Corrupt one feature file after the data set was built (it exists, but does not parse).
  const std::string victim = good.feature_path(good.size() - 1);
  const std::string saved = read_file(victim);
  write_file_atomic(victim, "garbage");
  LoaderOptions o;
  o.batch_size = 4;
  Loader loader(good, o, 0);
  const auto batches = drain(loader, 0);
  write_file_atomic(victim, saved);
  ASSERT_EQ(batches.size(), 3u);  // the last batch held only the broken video
  ASSERT_EQ(loader.skipped().size(), 1u);
  EXPECT_NE(loader.skipped()[0].find(good.item(good.size() - 1).name), std::string::npos) << loader.skipped()[0];
}

TEST_F(DemoSet, MissingFeatureFilesAreCountedAtLoad) {
  const std::string list = read_file(dir_ + "/val.txt") + "nope.mp4\ttitle\t美食-烹饪\n";
  write_file_atomic(dir_ + "/with_missing.txt", list);
  const Dataset data = dataset("with_missing.txt");
  EXPECT_EQ(data.size(), 2u);
  EXPECT_EQ(data.report().missing_features, 1u);
  EXPECT_EQ(data.report().missing_names, (std::vector<std::string>{"nope.mp4"}));
  EXPECT_NE(data.report().summary().find("nope.mp4"), std::string::npos);
}
