// Process-wide LibTorch settings: thread pools and the honest choice of a device.
#pragma once

#include <string>

#include <torch/types.h>

namespace mvtag {

// Makes sure OpenBLAS uses the CPU's fast kernels (ensure_fast_blas), then sets LibTorch's
// intra-op threads (0 = all cores) and a single inter-op thread.
// Returns the number of intra-op threads now in use.
int configure_threads(int requested);

// Applies configure_threads()'s intra-op thread count to the calling thread. OpenMP keeps the
// count per thread, so a thread started by us that runs LibTorch math (the server's batching
// thread) calls this once before its first forward pass.
void adopt_thread_settings();

// Measures over ~0.1 s how many cores other processes keep busy; when LibTorch's threads would
// share cores with them, logs a warning suggesting --threads (OpenMP threads that share cores
// with other work slow down several times over, see docs/PERFORMANCE.md). Linux only; silent
// elsewhere. Returns the number of busy cores seen.
double warn_if_cores_busy();

// "auto" (CUDA if available, else CPU), "cpu", "cuda" or "cuda:N". Asking for CUDA when it
// is not available logs a warning and falls back to the CPU; a malformed name is an error.
torch::Device choose_device(const std::string& requested);

}  // namespace mvtag
