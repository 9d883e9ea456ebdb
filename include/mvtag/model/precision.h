// Putting a loaded network in a reduced precision for inference (`--precision`, see
// core/config/precision.h for what each does).
//
//   int8: every ERNIE linear layer (attention query/key/value/output, ffn_in, ffn_out) and the
//         image and audio branches' input projections (fwd_proj, bwd_proj, with the LSTM gate
//         bias folded in) get an Int8Linear (model/int8_linear.h) that runs in their place. The
//         float32 parameters stay as they are (a model directory written afterwards is still
//         float32). Embeddings, LayerNorms, TextCNN, the LSTMs, attention pooling and the
//         classifier stay float32. CPU only.
//   bf16: ERNIE's parameters are cast to bfloat16, so the encoder (ERNIE cache included, which
//         calls the same module) computes in bfloat16 and returns float32. The fused LSTM
//         (float32/64 only) and everything after ERNIE stay float32. Fast on CPUs with
//         AVX512-BF16 (or AMX) and on GPUs; elsewhere LibTorch emulates it, slower than fp32.
//
// Both are inference only: the network refuses to run forward in training mode afterwards.
#pragma once

#include <string>

#include <torch/types.h>

#include "mvtag/core/config/precision.h"
#include "mvtag/model/model.h"

namespace mvtag {

// Error(Usage) when `precision` cannot run on `device` (int8 on anything but the CPU). Touches
// no device, so callers check before loading a model there. `from` says where the precision
// came from ("--precision", a model's inference.json), for the message.
void check_precision_device(Precision precision, const torch::Device& device, const std::string& from = "--precision");

// Applies `precision` to `net` (on `device`, where its parameters are) and puts it in eval
// mode. fp32 does nothing but record it. Applying to a network that is already not fp32 is an
// Error(Usage) (load it again instead).
void apply_precision(VideoTagNetImpl& net, Precision precision, const torch::Device& device);

}  // namespace mvtag
