// The pickle reader on any bytes, along its three paths: a feature file (plain pickle, numpy
// arrays, then the feature record's checks), a torch.save state-dict pickle (PickleOptions::torch,
// storages served from a fixed buffer), and a whole torch.save file (ZIP or legacy container).
#include <map>
#include <string>

#include "fuzz_util.h"
#include "mvtag/core/data/features.h"
#include "mvtag/core/formats/pickle.h"
#include "mvtag/core/formats/pickle_json.h"
#include "mvtag/core/formats/torch_checkpoint.h"

namespace {

std::string_view storage_bytes(const mvtag::TorchStorageRef& ref) {
  static const std::string buffer(1 << 16, '\x3f');
  std::uint64_t nbytes = 0;
  if (!mvtag::checked_nbytes(ref.dtype, {ref.numel}, &nbytes) || nbytes > buffer.size()) {
    mvtag::throw_error(mvtag::ErrorKind::Data, "fuzz: storage '" + ref.key + "' larger than the test buffer");
  }
  return std::string_view(buffer).substr(0, static_cast<std::size_t>(nbytes));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mvtag;
  fuzz::quiet_logs();
  const std::string_view bytes = fuzz::as_view(data, size);
  fuzz::expect_parse_or_error([&] {
    const PickleValue record = parse_pickle(bytes, "fuzz.pkl");
    (void)pickle_to_json(record);
    (void)video_features_from_record(record, "fuzz.pkl", 0, 0);
  });
  fuzz::expect_parse_or_error([&] {
    PickleOptions options;
    options.torch = true;
    options.torch_storage = storage_bytes;
    (void)parse_pickle(bytes, "fuzz.pkl", options);
  });
  fuzz::expect_parse_or_error([&] { (void)read_torch_state_dict(fuzz::write_input(data, size)); });
  return 0;
}
