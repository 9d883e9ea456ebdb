#include "mvtag/batch/batch.h"

namespace mvtag {

NetInput NetInput::to(const torch::Device& device) const {
  return {rgb.to(device),      rgb_len.to(device),  audio.to(device),
          audio_len.to(device), text_ids.to(device), text_len.to(device),
          text_encoded.defined() ? text_encoded.to(device) : torch::Tensor()};
}

}  // namespace mvtag
