#include <iostream>
#include <memory>

#include "commands.h"
#include "mvtag/core/interop/pretrained_ernie.h"

namespace mvtag::cli {

namespace {
struct ConvertArgs {
  std::string input;
  std::string output;
};
}  // namespace

Command add_convert_ernie_command(CLI::App& root) {
  auto* sub = root.add_subcommand(
      "convert-ernie",
      "Convert a pretrained ERNIE directory into mvtag's own (ernie.safetensors + ernie_config.json +\n"
      "vocab.txt), which later runs load without conversion. Reads what TRAIN.ernie_pretrain_dict_path\n"
      "accepts, detected from the files:\n"
      "  the original's Paddle release   one file per parameter (word_embedding, encoder_layer_0_...),\n"
      "                                  ernie_config.json, vocab.txt\n"
      "  HuggingFace                     model.safetensors or pytorch_model.bin, config.json, vocab.txt\n"
      "Every tensor the config implies must be there with its shape; unused heads (pooler, cls.*,\n"
      "mask_lm_*, next_sent_fc) are left out. Example:\n"
      "  mvtag convert-ernie --input ernie-1.0-base-zh --output model_pretrained/ernie_v1_params");
  auto args = std::make_shared<ConvertArgs>();
  sub->add_option("--input,-i", args->input, "ERNIE directory to read")->type_name("DIR")->required()->group("Run");
  sub->add_option("--output,-o", args->output, "Directory to write (replaced if it exists)")
      ->type_name("DIR")
      ->required()
      ->group("Run");
  return {sub, [args]() -> int {
            const PretrainedErnie ernie = read_pretrained_ernie(args->input);
            write_ernie_directory(ernie, args->output);
            std::cout << "converted the " << ernie.format << " ERNIE in " << args->input << " ("
                      << ernie.weights.tensors.size() << " tensors, " << ernie.config.num_hidden_layers << " layers, hidden "
                      << ernie.config.hidden_size << ") to " << args->output << "\n";
            return 0;
          }};
}

}  // namespace mvtag::cli
