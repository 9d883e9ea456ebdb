// Video list files (train.txt, val.txt, infer lists), in both modes, against the class map of tests/fixtures/lists/class.txt.
#include <string>

#include "fuzz_util.h"
#include "mvtag/core/data/list_file.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mvtag;
  fuzz::quiet_logs();
  static const ClassMap classes = ClassMap::parse("拍人-帅哥\n拍人-秀特效\n明星周边-其他明星周边\n游戏-王者荣耀\n美食-烹饪\n", "class.txt");
  const std::string text(fuzz::as_view(data, size));
  for (const ListMode mode : {ListMode::Labeled, ListMode::Infer}) {
    fuzz::expect_parse_or_error([&] {
      const ListFile list = parse_list_file(text, "fuzz.txt", mode, classes);
      (void)list.report.summary();
      for (const VideoItem& item : list.items) (void)video_key(item.name);
    });
  }
  return 0;
}
