#include "mvtag/core/base/error.h"

namespace mvtag {

std::string format_error(const std::string& message, const Location& where) {
  std::string out;
  if (!where.file.empty()) {
    out += where.file;
    if (where.line > 0) out += ":" + std::to_string(where.line);
    out += ": ";
  }
  if (!where.key.empty()) out += "key '" + where.key + "': ";
  if (!where.tensor.empty()) out += "tensor '" + where.tensor + "': ";
  out += message;
  return out;
}

Error::Error(ErrorKind kind, const std::string& message, Location where)
    : std::runtime_error(format_error(message, where)),
      kind_(kind),
      message_(message),
      where_(std::move(where)) {}

int Error::exit_code() const {
  return (kind_ == ErrorKind::Usage || kind_ == ErrorKind::Config) ? 2 : 1;
}

void throw_error(ErrorKind kind, const std::string& message, Location where) {
  throw Error(kind, message, std::move(where));
}

}  // namespace mvtag
