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

TEST(BucketOrder, SortsByTheChosenLengthsThenByIndex) {
  auto sample = [](std::size_t index, std::size_t title, std::int64_t frames, std::int64_t audio) {
    Sample s;
    s.index = index;
    s.text.token_ids.assign(title, 1);
    s.rgb = {frames, 1, std::vector<float>(static_cast<std::size_t>(frames))};
    s.audio = {audio, 1, std::vector<float>(static_cast<std::size_t>(audio))};
    return s;
  };
  // index: title, frames, audio
  const std::vector<Sample> pool = {sample(10, 5, 9, 1), sample(11, 3, 9, 2), sample(12, 5, 2, 7),
                                    sample(13, 3, 9, 1), sample(14, 5, 2, 7)};
  EXPECT_EQ(bucket_order(pool, Bucketing::None), (std::vector<std::size_t>{0, 1, 2, 3, 4}));
  // Title first: titles 3 (frames 9, audio 1 before 2), then titles 5 by frames; 12 and 14 tie → index.
  EXPECT_EQ(bucket_order(pool, Bucketing::Title), (std::vector<std::size_t>{3, 1, 2, 4, 0}));
  // Frames first: frames 2 (tie → index), then frames 9 by audio, then title.
  EXPECT_EQ(bucket_order(pool, Bucketing::Frames), (std::vector<std::size_t>{2, 4, 3, 0, 1}));
}

TEST_F(DemoSet, TitleBucketsHoldSimilarTitlesAndCoverEveryVideoOnce) {
  const Dataset data = dataset();
  LoaderOptions o;
  o.batch_size = 3;
  o.bucket_pool = 2;
  o.bucketing = Bucketing::Title;
  o.num_workers = 0;
  Loader serial(data, o, 0);
  EXPECT_TRUE(serial.reorders());
  o.num_workers = 2;
  o.prefetch = 1;
  Loader threaded(data, o, 0);
  const auto a = drain(serial, 0), b = drain(threaded, 0);
  ASSERT_EQ(a.size(), 5u);
  ASSERT_EQ(b.size(), 5u);
  std::vector<std::size_t> seen;
  std::size_t previous = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].indices, b[i].indices);
    EXPECT_TRUE(torch::equal(a[i].input.rgb, b[i].input.rgb));
    for (std::size_t index : a[i].indices) {
      // Titles come out shortest first over the whole pass (the list is sorted before pooling).
      EXPECT_LE(previous, data.text(index).length()) << "batch " << i;
      previous = data.text(index).length();
      seen.push_back(index);
    }
    // Each batch is padded to its own longest title only.
    std::size_t longest = 0;
    for (std::size_t index : a[i].indices) longest = std::max(longest, data.text(index).length());
    EXPECT_EQ(a[i].input.text_ids.size(1), static_cast<std::int64_t>(longest));
  }
  std::sort(seen.begin(), seen.end());
  std::vector<std::size_t> all(data.size());
  std::iota(all.begin(), all.end(), 0);
  EXPECT_EQ(seen, all);
}

TEST_F(DemoSet, FrameBucketsSortEachPoolByFrames) {
  const Dataset data = dataset();
  LoaderOptions o;
  o.batch_size = 2;
  o.bucket_pool = 3;  // pools of 6 videos: 0-5, 6-11, 12
  o.bucketing = Bucketing::Frames;
  Loader loader(data, o, 0);
  const auto batches = drain(loader, 0);
  ASSERT_EQ(batches.size(), 7u);
  for (std::size_t pool = 0; pool < 3; ++pool) {
    std::vector<std::size_t> indices;
    std::int64_t previous = 0;
    for (std::size_t b = pool * 3; b < std::min<std::size_t>(pool * 3 + 3, batches.size()); ++b) {
      const auto lengths = batches[b].input.rgb_len;
      for (std::int64_t i = 0; i < batches[b].size(); ++i) {
        EXPECT_LE(previous, lengths[i].item<std::int64_t>()) << "batch " << b;
        previous = lengths[i].item<std::int64_t>();
        indices.push_back(batches[b].indices[static_cast<std::size_t>(i)]);
      }
    }
    std::sort(indices.begin(), indices.end());
    std::vector<std::size_t> want(std::min<std::size_t>(6, data.size() - pool * 6));
    std::iota(want.begin(), want.end(), pool * 6);
    EXPECT_EQ(indices, want) << "pool " << pool << " holds other videos";
  }
}

TEST_F(DemoSet, BucketingRefusesShuffleAndMidEpochResume) {
  const Dataset data = dataset();
  LoaderOptions o;
  o.bucketing = Bucketing::Title;
  o.shuffle = true;
  EXPECT_THROW(Loader(data, o, 0), std::logic_error);
  o.shuffle = false;
  Loader loader(data, o, 0);
  EXPECT_THROW(loader.start_epoch(0, 1), std::logic_error);
}

TEST_F(DemoSet, BucketedPassesSkipUnreadableSamplesByName) {
  const Dataset good = dataset();
  const std::string victim = good.feature_path(3);
  const std::string saved = read_file(victim);
  write_file_atomic(victim, "garbage");
  LoaderOptions o;
  o.batch_size = 4;
  o.bucketing = Bucketing::Frames;
  Loader loader(good, o, 0);
  const auto batches = drain(loader, 0);
  write_file_atomic(victim, saved);
  std::set<std::size_t> seen;
  for (const auto& b : batches) seen.insert(b.indices.begin(), b.indices.end());
  EXPECT_EQ(seen.size(), good.size() - 1);
  EXPECT_EQ(seen.count(3), 0u);
  ASSERT_EQ(loader.skipped().size(), 1u);
  EXPECT_NE(loader.skipped()[0].find(good.item(3).name), std::string::npos) << loader.skipped()[0];
}

TEST_F(DemoSet, ShardsSplitEveryBatchIntoDisjointContiguousParts) {
  const Dataset data = dataset();  // 13 videos
  LoaderOptions o;
  o.batch_size = 5;  // batches of 5, 5, 3
  o.shuffle = true;
  o.seed = 4;
  Loader whole(data, o, 0);
  const auto full = drain(whole, 1);
  ASSERT_EQ(full.size(), 3u);
  o.num_shards = 3;
  std::vector<std::vector<Batch>> parts;
  for (int r = 0; r < 3; ++r) {
    o.shard = r;
    o.num_workers = r;  // the split does not depend on the loading threads
    Loader shard(data, o, 0);
    EXPECT_TRUE(shard.sharded());
    parts.push_back(drain(shard, 1));
    ASSERT_EQ(parts.back().size(), 3u) << "every rank takes every step";
  }
  // A batch of m splits at m*r/3: 5 -> 1, 2, 2 (cuts at 1 and 3); 3 -> 1, 1, 1.
  const std::vector<std::vector<std::int64_t>> sizes = {{1, 2, 2}, {1, 2, 2}, {1, 1, 1}};
  std::size_t total = 0;
  for (std::size_t b = 0; b < 3; ++b) {
    std::vector<std::size_t> joined;
    for (int r = 0; r < 3; ++r) {
      const Batch& part = parts[static_cast<std::size_t>(r)][b];
      EXPECT_EQ(part.size(), sizes[b][static_cast<std::size_t>(r)]) << "batch " << b << " rank " << r;
      joined.insert(joined.end(), part.indices.begin(), part.indices.end());
    }
    EXPECT_EQ(joined, full[b].indices) << "the parts, in rank order, are the batch";
    total += joined.size();
  }
  EXPECT_EQ(total, 13u);
  o.shard = 2;
  EXPECT_EQ(Loader(data, o, 0).samples_per_epoch(), 2u + 2u + 1u);  // rank 2: the third column above
}

TEST_F(DemoSet, AShardWithNothingToReadStillGetsItsEmptyBatch) {
  const Dataset data = dataset();  // 13 videos
  LoaderOptions o;
  o.batch_size = 12;  // batches of 12 and 1: with 2 ranks, rank 0's part of the second is empty
  o.num_shards = 2;
  o.shard = 0;
  Loader rank0(data, o, 0);
  const auto batches = drain(rank0, 0);
  ASSERT_EQ(batches.size(), 2u);
  EXPECT_EQ(batches[0].size(), 6);
  EXPECT_EQ(batches[1].size(), 0);
  EXPECT_EQ(rank0.samples_per_epoch(), 6u);
  o.shard = 2;
  EXPECT_THROW(Loader(data, o, 0), std::logic_error);
}

TEST_F(DemoSet, ShardedBucketedPassesCoverEveryVideoOnce) {
  const Dataset data = dataset();
  LoaderOptions o;
  o.batch_size = 3;
  o.bucketing = Bucketing::Frames;
  o.bucket_pool = 2;
  o.num_shards = 2;
  std::multiset<std::size_t> seen;
  for (int r = 0; r < 2; ++r) {
    o.shard = r;
    Loader shard(data, o, 0);
    const auto batches = drain(shard, 0);
    EXPECT_EQ(batches.size(), 5u);
    std::size_t n = 0;
    for (const auto& b : batches) {
      seen.insert(b.indices.begin(), b.indices.end());
      n += b.indices.size();
    }
    EXPECT_EQ(n, shard.samples_per_epoch());
  }
  EXPECT_EQ(seen.size(), 13u);
  EXPECT_EQ(std::set<std::size_t>(seen.begin(), seen.end()).size(), 13u);
}
