#include <dlfcn.h>

#include <cstdlib>
#include <string>

#include <gtest/gtest.h>

#include "mvtag/runtime/blas.h"

TEST(Blas, OpenBlasEndsOnKernelsForThisCpu) {
  const auto corename = reinterpret_cast<char* (*)()>(dlsym(RTLD_DEFAULT, "openblas_get_corename"));
  if (!corename) GTEST_SKIP() << "LibTorch does not use OpenBLAS here";
  const bool forced_by_user = std::getenv("OPENBLAS_CORETYPE") != nullptr;
  const std::string description = mvtag::ensure_fast_blas();
  EXPECT_EQ(description.rfind("OpenBLAS, core ", 0), 0u) << description;
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && !forced_by_user) {
    const std::string core = corename();
    EXPECT_NE(core, "Prescott") << description;
    EXPECT_NE(core, "Core2") << description;
  }
  // A second call changes nothing.
  EXPECT_EQ(mvtag::ensure_fast_blas().rfind("OpenBLAS, core " + std::string(corename()), 0), 0u);
}
