// A small demo data set, a configuration that describes it, and an untrained model directory
// for it: what the Evaluator and Tagger tests open.
#pragma once

#include <string>

#include <torch/torch.h>

#include "mvtag/core/config/config.h"
#include "mvtag/core/config/net_config.h"
#include "mvtag/core/data/class_map.h"
#include "mvtag/core/data/demo_data.h"
#include "mvtag/core/text/vocab.h"
#include "mvtag/model/model_dir.h"
#include "test_util.h"

namespace mvtag::test {

struct JobFixture {
  TempDir dir{"job"};
  Config config;
  NetConfig net_config;
  std::string model_dir;

  JobFixture() {
    DemoOptions o;
    o.seed = 11;
    o.train_videos = 8;
    o.val_videos = 9;
    o.rgb_dim = 16;
    o.audio_dim = 8;
    const DemoSummary demo = write_demo_data(dir.file("data"), o);
    const std::string d = dir.path() + "/data/";
    config = load_config(std::string(MVTAG_SOURCE_DIR) + "/conf/demo.txt",
                         {"MODEL.feature_dims=[[16], [8], [5, 16, 1]]", "MODEL.text_max_len=16",
                          "MODEL.lstm_size_img=6", "MODEL.lstm_size_audio=4", "MODEL.class_name_file=" + d + "class.txt",
                          "TRAIN.ernie_pretrain_dict_path=" + d + "ernie/", "TRAIN.num_workers=1",
                          "VALID.filelist=" + d + "feature_files/", "VALID.url_title_label_file=" + d + "val.txt",
                          "VALID.batch_size=4", "INFER.filelist=" + d + "feature_files/",
                          "INFER.url_title_label_file=" + d + "val.txt", "INFER.batch_size=4",
                          "INFER.threshold=0.4"});
    net_config = net_config_from(config, demo.ernie);
    torch::manual_seed(5);
    VideoTagNet net(net_config);
    model_dir = dir.file("model");
    save_model_directory(model_dir, *net, Vocab::load(d + "ernie/vocab.txt"),
                         ClassMap::load(d + "class.txt", config.model.num_classes));
  }
};

}  // namespace mvtag::test
