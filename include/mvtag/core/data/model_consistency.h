// eval, export and infer use the class list and the vocabulary stored in the model directory:
// a model is self-contained. When the configuration names a class list or an ERNIE vocabulary
// whose contents differ, the user is told so, never silently overruled.
#pragma once

#include <string>

#include "mvtag/core/data/class_map.h"
#include "mvtag/core/config/config.h"
#include "mvtag/core/text/vocab.h"

namespace mvtag {

// MODEL.class_name_file against the model's class.txt. A different number of classes is
// Error(Config) naming the key and both files; different names are one warning naming the first
// class that differs. Nothing happens when the configured file does not exist.
void check_class_list(const Config& config, const ClassMap& model_classes, const std::string& model_dir);

// The vocab.txt of TRAIN.ernie_pretrain_dict_path against the model's vocab.txt: one warning
// naming the first id whose token differs. Nothing happens when the configured file does not exist.
void check_vocabulary(const Config& config, const Vocab& model_vocab, const std::string& model_dir);

}  // namespace mvtag
