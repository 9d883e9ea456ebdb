#include <string>
#include <vector>

#include "commands.h"

namespace mvtag::cli {

namespace {
std::vector<std::string>& stored() {
  static std::vector<std::string> words;
  return words;
}

bool needs_quotes(const std::string& w) {
  if (w.empty()) return true;
  for (const char c : w) {
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       std::string("-_./=:,@+%").find(c) != std::string::npos;
    if (!plain) return true;
  }
  return false;
}
}  // namespace

void remember_invocation(int argc, const char* const* argv) {
  stored().assign(argv, argv + argc);
}

const std::vector<std::string>& invocation() { return stored(); }

std::string shell_join(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) {
    if (!out.empty()) out += ' ';
    if (!needs_quotes(w)) {
      out += w;
      continue;
    }
    out += '\'';
    for (const char c : w) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    out += '\'';
  }
  return out;
}

}  // namespace mvtag::cli
