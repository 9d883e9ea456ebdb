// Files written by torch.save(model.state_dict()) — a HuggingFace `pytorch_model.bin` — read
// without LibTorch and without running anything from the file. LibTorch's own loader cannot read
// them: torch::pickle_load returns None for the collections.OrderedDict a state dict is
// (pytorch/pytorch#100741). See docs/FORMATS.md.
//
// Two containers:
//   zip    (PyTorch >= 1.6, the default): <archive>/data.pkl + <archive>/data/<storage key>, stored
//   legacy (_use_new_zipfile_serialization=False, and PyTorch < 1.6): magic number, protocol
//          version and system-info pickles, the state-dict pickle, the sorted storage keys, then
//          each storage as int64 element count + raw bytes.
// The state-dict pickle is read by our safe unpickler (PickleOptions::torch). Tensors of any
// layout (views with a storage offset, transposed or sliced strides) come back in C order.
#pragma once

#include <string>
#include <vector>

#include "mvtag/core/formats/safetensors.h"

namespace mvtag {

enum class TorchFileFormat { Zip, Legacy };

struct TorchStateDict {
  TorchFileFormat format = TorchFileFormat::Zip;
  std::vector<NamedArray> tensors;  // in the dict's order
  std::string nested_key;           // "" for a bare state dict; "state_dict", "model" ... when nested
};

// Reads a state dict: the pickled object is a dict of str -> tensor, or a dict holding one under
// "state_dict", "model" or "module" (training scripts' checkpoints). Error(Data) naming the file
// and the byte offset or tensor for anything else (a full pickled model, compressed zip entries,
// a big-endian file, a storage missing from the archive ...).
TorchStateDict read_torch_state_dict(const std::string& path);

// "zip" or "legacy".
const char* torch_file_format_name(TorchFileFormat format);

}  // namespace mvtag
