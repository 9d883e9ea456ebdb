// class.txt, with the class count from the file and with a fixed MODEL.num_classes; to_text()
// must read back to the same map.
#include <string>

#include "fuzz_util.h"
#include "mvtag/core/data/class_map.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mvtag;
  fuzz::quiet_logs();
  const std::string text(fuzz::as_view(data, size));
  for (const int num_classes : {0, 16}) {
    fuzz::expect_parse_or_error([&] {
      const ClassMap map = ClassMap::parse(text, "class.txt", num_classes);
      (void)map.names();
      const ClassMap again = ClassMap::parse(map.to_text(), "again", map.num_classes());
      if (again.name_to_index() != map.name_to_index()) std::abort();
    });
  }
  return 0;
}
