#include "mvtag/model/model_dir.h"

#include <filesystem>

#include "mvtag/core/base/error.h"
#include "mvtag/core/base/io.h"
#include "mvtag/core/interop/pretrained_ernie.h"
#include "mvtag/model/weights.h"

namespace mvtag {

namespace fs = std::filesystem;

void write_model_files(const std::string& dir, const VideoTagNetImpl& net, const Vocab& vocab,
                       const ClassMap& classes) {
  // Model directories hold float32 weights; int8 keeps them (its packed copies are separate).
  if (net.precision() == Precision::Bf16) {
    throw_error(ErrorKind::Usage, "a network cast to bf16 cannot be written (model directories hold float32 "
                                  "weights); write it before applying the precision");
  }
  save_model_files(net, dir);
  write_vocab(vocab, (fs::path(dir) / kVocabFile).string());
  classes.save((fs::path(dir) / kClassFile).string());
}

void save_model_directory(const std::string& dir, const VideoTagNetImpl& net, const Vocab& vocab,
                          const ClassMap& classes) {
  AtomicDirectory out(dir);
  write_model_files(out.staging(), net, vocab, classes);
  out.commit();
}

LoadedModel load_model_directory(const std::string& dir, const torch::Device& device) {
  if (!is_directory(dir)) throw_error(ErrorKind::Io, "model directory not found", at_file(dir));
  for (const char* f : {kModelWeightsFile, kModelConfigFile, kVocabFile, kClassFile}) {
    if (!path_exists((fs::path(dir) / f).string())) {
      throw_error(ErrorKind::Io, std::string("not a model directory: ") + f + " is missing", at_file(dir));
    }
  }
  VideoTagNet net = load_model(dir, device);
  Tokenizer tokenizer(Vocab::load((fs::path(dir) / kVocabFile).string()));
  ClassMap classes = ClassMap::load((fs::path(dir) / kClassFile).string(), static_cast<int>(net->config().num_classes));
  check_vocab_fits(tokenizer.vocab(), net->config().ernie, (fs::path(dir) / kVocabFile).string());
  return LoadedModel{net, std::move(tokenizer), std::move(classes), dir};
}

}  // namespace mvtag
