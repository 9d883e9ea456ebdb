// mvtag pack: the .pkl feature files of a list into one feature pack (core/data/feature_pack.h).
#include <iostream>
#include <memory>
#include <string>

#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>

#include "commands.h"
#include "mvtag/core/base/io.h"
#include "mvtag/core/data/feature_pack.h"

namespace mvtag::cli {

Command add_pack_command(CLI::App& root) {
  auto* sub = root.add_subcommand(
      "pack",
      "Pack the .pkl feature files a list names into one indexed, memory-mapped file. Reading a pack\n"
      "needs no unpickling, so the loader keeps up with many workers. train, eval and infer read a\n"
      "pack wherever a feature directory goes: set the section's `filelist` to the pack's path.\n"
      "Missing and unreadable feature files are skipped and named, as training skips them; the pack\n"
      "is written atomically (docs/FORMATS.md).\n\n"
      "  mvtag pack --list datasets/train.txt --features datasets/feature_files -o datasets/train.mvpack\n"
      "  mvtag train --conf conf/conf.txt --set TRAIN.filelist=datasets/train.mvpack");
  auto o = std::make_shared<PackOptions>();
  auto dtype = std::make_shared<std::string>("float32");
  sub->add_option("--list", o->list_file, "List file (url<TAB>title<TAB>labels); only the first column is used")
      ->required()
      ->type_name("FILE");
  sub->add_option("--features", o->feature_dir, "Directory of the .pkl feature files (the section's filelist)")
      ->required()
      ->type_name("DIR");
  sub->add_option("--output,-o", o->output, "The pack to write")->required()->type_name("FILE");
  sub->add_option("--dtype", *dtype,
                  "float32 (exact) or float16 (half the size; values rounded to ~3 significant digits, and "
                  "beyond ±65504 refused)")
      ->capture_default_str();
  sub->add_option("--rgb_dim", o->rgb_dim, "Image feature width every video must have")->capture_default_str();
  sub->add_option("--audio_dim", o->audio_dim, "Audio feature width every video must have")->capture_default_str();
  return {sub, [o, dtype]() -> int {
            o->dtype = parse_pack_dtype(*dtype, "--dtype");
            check_can_write(o->output, "--output");
            const PackReport r = pack_features(*o);
            for (const auto& name : r.missing) spdlog::warn("skipped '{}': no feature file in {}", name, o->feature_dir);
            for (const auto& why : r.unreadable) spdlog::warn("skipped {}", why);
            std::cout << fmt::format("packed {} of {} videos into {} ({:.1f} MB {}, {:.1f} s); {} without a feature "
                                     "file, {} unreadable, {} sharing another row's file\n",
                                     r.packed, r.listed, o->output, static_cast<double>(r.bytes) / (1 << 20),
                                     to_string(o->dtype), r.seconds, r.missing.size(), r.unreadable.size(), r.shared);
            return 0;
          }};
}

}  // namespace mvtag::cli
