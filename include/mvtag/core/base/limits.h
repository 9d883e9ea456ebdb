// The resource limits of every reader of untrusted input, in one place. A reader checks a size
// it is told (a length, a shape, a count, a depth) against its limit here, and against the bytes
// really left in the input, before it allocates anything, so a small file cannot ask for
// gigabytes. An input over a limit is refused with mvtag::Error naming the file, what exceeded
// which limit, and where (byte offset, line, key or tensor). docs/ROBUSTNESS.md lists them and the
// tests that hold each one (tests/core/limits_test.cpp).
//
// The values are far above anything real data needs (ERNIE 1.0's largest tensor is 55 MB, its
// vocabulary 18 000 tokens, the original's tag set 110 classes); raise one here if a real file
// ever needs more.
#pragma once

#include <cstddef>
#include <cstdint>

namespace mvtag::limits {

// ---- tensors: numpy arrays in pickles, safetensors, Paddle tensor files, torch.save storages
inline constexpr std::uint64_t kMaxTensorBytes = std::uint64_t{16} << 30;  // 16 GiB of data
inline constexpr std::size_t kMaxTensorRank = 64;                           // numpy 2's NPY_MAXDIMS

// ---- strings
// One str or bytes value of a pickle.
inline constexpr std::uint64_t kMaxStringBytes = std::uint64_t{1} << 30;  // 1 GiB
// The JSON header of a safetensors file (the format's reference reader allows 100 MB).
inline constexpr std::uint64_t kMaxSafetensorsHeaderBytes = std::uint64_t{100} << 20;
// A configuration file: conf.txt, model.json, ernie_config.json, config.json.
inline constexpr std::uint64_t kMaxConfigFileBytes = std::uint64_t{16} << 20;  // 16 MiB

// ---- nesting
inline constexpr int kMaxPickleDepth = 1000;  // containers in a pickle (Python's own recursion limit)
inline constexpr int kMaxLiteralDepth = 100;  // brackets in a conf.txt value
inline constexpr int kMaxJsonDepth = 64;      // arrays and objects in a JSON file

// ---- numbers of entries
inline constexpr std::uint64_t kMaxZipEntries = 1'000'000;    // entries of a ZIP archive
inline constexpr std::uint64_t kMaxTensorsPerFile = 1'000'000;  // safetensors, Paddle combined files
inline constexpr std::uint64_t kMaxLodLevels = 16;             // LoD levels of a Paddle tensor record
inline constexpr int kMaxClasses = 1'000'000;                  // class.txt indices, MODEL.num_classes
inline constexpr int kMaxVocabId = 10'000'000;                 // vocab.txt ids (embedding rows)
inline constexpr std::uint64_t kMaxPackIndexBytes = std::uint64_t{1} << 30;  // a feature pack's JSON index

// ---- the network a configuration or model.json describes (it is allocated before any weight
// is read): its weight count, estimated from the big matrices. ERNIE 1.0 base is 0.11 billion.
inline constexpr double kMaxModelParameters = 2e9;  // 8 GB of float32

}  // namespace mvtag::limits
