#include "mvtag/runtime/blas.h"

#include <dlfcn.h>

#include <cstdlib>
#include <string>

#include <spdlog/spdlog.h>

namespace mvtag {

namespace {

// OpenBLAS's generic fallbacks for CPUs it cannot identify.
bool is_generic_core(const std::string& core) {
  return core == "Prescott" || core == "Core2" || core == "Katmai" || core == "Northwood" || core == "Banias";
}

// The OpenBLAS core type matching what the CPU can do, or "" if no better one is known.
std::string best_core_type() {
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512cd")) {
    return "SkylakeX";
  }
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
  if (__builtin_cpu_supports("avx")) return "SandyBridge";
#endif
  return "";
}

template <typename F>
F lookup(const char* symbol) {
  return reinterpret_cast<F>(dlsym(RTLD_DEFAULT, symbol));
}

}  // namespace

std::string ensure_fast_blas() {
  // Looked up at run time: LibTorch may be linked against another BLAS (MKL, reference BLAS).
  const auto corename = lookup<char* (*)()>("openblas_get_corename");
  if (!corename) return "not OpenBLAS";
  const std::string found = corename();
  if (std::getenv("OPENBLAS_CORETYPE")) return "OpenBLAS, core " + found + " (OPENBLAS_CORETYPE)";
  const std::string best = best_core_type();
  if (!is_generic_core(found) || best.empty()) return "OpenBLAS, core " + found;
  const auto quit = lookup<void (*)()>("gotoblas_dynamic_quit");
  const auto init = lookup<void (*)()>("gotoblas_dynamic_init");
  if (!quit || !init) {
    spdlog::warn("OpenBLAS uses its generic {} kernels; set OPENBLAS_CORETYPE={} for speed", found, best);
    return "OpenBLAS, core " + found;
  }
  // OpenBLAS's dynamic dispatch honours OPENBLAS_CORETYPE when it (re)selects its kernel table.
  setenv("OPENBLAS_CORETYPE", best.c_str(), 1);
  quit();
  init();
  const std::string now = corename();
  spdlog::debug("OpenBLAS did not recognise this CPU ({} kernels); switched to {}", found, now);
  return "OpenBLAS, core " + now + " (was " + found + ")";
}

}  // namespace mvtag
