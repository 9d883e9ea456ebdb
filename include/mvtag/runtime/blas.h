// Makes sure the BLAS behind LibTorch runs its fast kernels.
//
// Debian's OpenBLAS picks its kernels from the CPU model at load time. Under a hypervisor that
// reports an unknown model (e.g. "Intel Xeon Processor") it falls back to its generic Prescott
// (SSE3) kernels, 4–5× slower for the network's matrix products on an AVX-512 machine. This
// re-selects the kernels from the CPU's actual instruction sets, unless OPENBLAS_CORETYPE is set.
#pragma once

#include <string>

namespace mvtag {

// Call once at start-up, before parallel work. Returns a one-line description of the BLAS in
// use (e.g. "OpenBLAS, core SkylakeX (was Prescott)"); logs what it changed. A no-op (returning
// what it found) for other BLAS libraries, when OPENBLAS_CORETYPE is set, or when OpenBLAS
// already recognised the CPU.
std::string ensure_fast_blas();

}  // namespace mvtag
