#include "mvtag/pretrained_ernie.h"

#include "mvtag/error.h"
#include "mvtag/io.h"

namespace mvtag {

namespace {
std::string join(const std::string& dir, const std::string& file) {
  return (!dir.empty() && dir.back() == '/') ? dir + file : dir + "/" + file;
}
}  // namespace

PretrainedErnie read_pretrained_ernie(const std::string& dir) {
  if (!is_directory(dir)) {
    throw_error(ErrorKind::Io, "ERNIE directory (TRAIN.ernie_pretrain_dict_path) not found", at_file(dir));
  }
  PretrainedErnie out;
  out.dir = dir;
  out.vocab_path = join(dir, "vocab.txt");
  if (!path_exists(out.vocab_path)) throw_error(ErrorKind::Io, "vocab.txt is missing", at_file(dir));
  for (const char* name : {"ernie_config.json", "config.json"}) {
    if (path_exists(join(dir, name))) {
      out.config_path = join(dir, name);
      break;
    }
  }
  if (out.config_path.empty()) {
    throw_error(ErrorKind::Io, "neither ernie_config.json nor config.json is present", at_file(dir));
  }
  out.config = read_ernie_config(out.config_path);
  const std::string weights = join(dir, "ernie.safetensors");
  if (path_exists(weights)) {
    out.format = "mvtag";
    out.weights = read_safetensors(weights);
  } else {
    out.format = "none";
  }
  return out;
}

}  // namespace mvtag
