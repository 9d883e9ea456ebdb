// The registry of the globals a pickle may name: numpy's array, dtype and scalar constructors
// and Python's bytes, always; torch's state-dict pieces only with PickleOptions::torch. The
// machine consults nothing else, so the tables admitted here are the whole set of allowed
// globals; each table, and what REDUCE and BUILD do with its entries, lives with its module.
#include <array>
#include <string>
#include <vector>

#include "pickle_internal.h"

namespace mvtag {

namespace pickle_internal {

std::string PickleGlobal::qualified_name() const { return std::string(module) + "." + std::string(name); }

namespace {

// The tables `options` admit, in the order they are consulted; nullptr where one is not admitted.
std::array<const std::vector<PickleGlobal>*, 3> admitted_tables(const PickleOptions& options) {
  return {&numpy_pickle_globals(), &bytes_pickle_globals(), options.torch ? &torch_pickle_globals() : nullptr};
}

// Whether `qualified` is "module.name" of `g`. Joined as Python joins them: a module may also
// be named with part of the attribute path (STACK_GLOBAL 'numpy.core', 'multiarray._reconstruct').
bool names(const PickleGlobal& g, std::string_view qualified) {
  return qualified.size() == g.module.size() + 1 + g.name.size() && qualified.substr(0, g.module.size()) == g.module &&
         qualified[g.module.size()] == '.' && qualified.substr(g.module.size() + 1) == g.name;
}

}  // namespace

const PickleGlobal* find_pickle_global(std::string_view qualified, const PickleOptions& options) {
  for (const std::vector<PickleGlobal>* table : admitted_tables(options)) {
    if (table == nullptr) continue;
    for (const PickleGlobal& g : *table) {
      if (names(g, qualified)) return &g;
    }
  }
  return nullptr;
}

std::string refused_global_message(std::string_view qualified, const PickleOptions& options) {
  const std::string refused = "global '" + printable(qualified) + "' is not allowed: ";
  if (options.torch) {
    return refused +
           "only what torch.save writes for a state dict of tensors (OrderedDict, _rebuild_tensor_v2, "
           "_rebuild_parameter, storage types) and numpy's array constructors may be named (nothing was imported "
           "or run)";
  }
  return refused + "only numpy's array, dtype and scalar constructors may be named (nothing was imported or run)";
}

PersistentLoad persistent_loader(const PickleOptions& options) {
  return options.torch ? torch_persistent_load : nullptr;
}

}  // namespace pickle_internal

std::vector<std::string> pickle_allowed_globals(const PickleOptions& options) {
  std::vector<std::string> out;
  for (const auto* table : pickle_internal::admitted_tables(options)) {
    if (table == nullptr) continue;
    for (const pickle_internal::PickleGlobal& g : *table) out.push_back(g.qualified_name());
  }
  return out;
}

}  // namespace mvtag
