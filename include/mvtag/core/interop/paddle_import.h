// The original's trained network as Paddle stores it: one combined parameter file
// (checkpoints_save/param, or an inference model's `params`) holding every parameter in Python
// sorted() order of their names, with no names stored (scenario_lib/utils.py). Reading rebuilds the
// names from the configuration and checks each record's dims and dtype as it is read, so a wrong
// configuration fails at the first tensor that does not fit, with its index, byte offset and
// expected name. See docs/FORMATS.md.
#pragma once

#include <string>
#include <vector>

#include "mvtag/core/config/net_config.h"
#include "mvtag/core/formats/safetensors.h"

namespace mvtag {

// The combined file a path stands for: DIR/param (a training checkpoint directory), DIR/params
// (an inference model directory), or the path itself when it is a file. Error(Io) naming the
// path and what was looked for.
std::string find_paddle_params(const std::string& dir_or_file);

// Every parameter of the network `config` describes, read from a combined file and converted to
// our names and layout (model.safetensors order is the caller's business). Error(Model) naming
// the file, "tensor #<i> at byte <offset>", the expected name and shape and a hint, for a record
// of the wrong dims or dtype; for too few or too many records, the count expected and found.
// Malformed records are Error(Data) from the Paddle reader, naming the tensor expected there.
std::vector<NamedArray> import_paddle_params(const std::string& path, const NetConfig& config);

// Writes the network's tensors (our names, every one exactly once, any order) as a combined
// Paddle file in sorted-name order, atomically. Error(Model) listing every missing, unexpected or
// mis-shaped tensor by name.
void export_paddle_params(const std::string& path, const NetConfig& config, const std::vector<NamedArray>& ours);

}  // namespace mvtag
