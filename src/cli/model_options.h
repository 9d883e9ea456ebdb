// How the verbs spell their model flags, in one place: `--model DIR` is the model a verb reads,
// `--output DIR` the model directory it writes (eval and export). The original's spellings stay
// as aliases (eval: --save_model_param_dir and --save_inference_model; infer: its
// --save_inference_model, which names the model it reads).
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace mvtag::cli {

// --model DIR (plus `aliases`), default shown in --help.
CLI::Option* add_model_input_option(CLI::App& verb, std::string& dir, const std::string& help,
                                    const std::vector<std::string>& aliases = {});
// --output DIR (plus `aliases`): the model directory the verb writes.
CLI::Option* add_model_output_option(CLI::App& verb, std::string& dir, const std::string& help,
                                     const std::vector<std::string>& aliases = {});

}  // namespace mvtag::cli
