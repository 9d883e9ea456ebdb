// The small job the e2e tests run through the binary: a generated data set (24 training and 8
// validation videos, 16-wide image and 8-wide audio features, 12 classes, a tiny ERNIE) and the
// conf.txt that describes it, written into a test directory as data/ and conf.txt.
#pragma once

#include <string>

#include <gtest/gtest.h>

#include "cli_runner.h"
#include "mvtag/core/base/io.h"

namespace mvtag::test {

inline const char* const kSmallJobConf = R"([MODEL]
drop_rate = 0.5
feature_names = ['rgb', 'audio', 'text']
text_max_len = 16
feature_dims = [[16], [8], [5, 16, 1]]
lstm_size_img = 6
lstm_size_audio = 4
num_classes = 12
top_n = [1, 2, 3, 5]
class_name_file = "data/class.txt"
ernie_freeze = True
lstm_pool_mode = 'text_guide'

[TRAIN]
epoch = 2
learning_rate = 0.002
decay_gamma = 0.5
l2_weight_decay = 8e-4
decay_epochs = [1]
num_samples = 24
batch_size = 4
use_gpu = False
warmup_epoch = 0
loss_type = "sigmoid"
ernie_pretrain_dict_path = "data/ernie/"
filelist = "data/feature_files/"
url_title_label_file = "data/train.txt"
early_stop = 0
seed = 3
num_workers = 2

[VALID]
batch_size = 3
filelist = "data/feature_files/"
url_title_label_file = "data/val.txt"

[INFER]
batch_size = 5
threshold = 0.3
filelist = "data/feature_files/"
url_title_label_file = "data/val.txt"
)";

// Writes data/ (with `mvtag demo-data`) and conf.txt into `dir`; a failure is a fatal test failure.
inline void write_small_job(const TempDir& dir) {
  const CliResult r = run_mvtag("demo-data -o data --train 24 --val 8 --rgb-dim 16 --audio-dim 8 --seed 5", dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  write_file_atomic(dir.file("conf.txt"), kSmallJobConf);
}

}  // namespace mvtag::test
