// Process-wide LibTorch settings: thread pools and the honest choice of a device.
#pragma once

#include <string>

#include <torch/types.h>

namespace mvtag {

// Makes sure OpenBLAS uses the CPU's fast kernels (ensure_fast_blas), then sets LibTorch's
// intra-op threads (0 = all cores) and a single inter-op thread.
// Returns the number of intra-op threads now in use.
int configure_threads(int requested);

// "auto" (CUDA if available, else CPU), "cpu", "cuda" or "cuda:N". Asking for CUDA when it
// is not available logs a warning and falls back to the CPU; a malformed name is an error.
torch::Device choose_device(const std::string& requested);

}  // namespace mvtag
