// One error type for the whole library: what failed, and where (file, line, key, tensor).
// Library code throws mvtag::Error; only src/cli/ turns it into a message and an exit code.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>

namespace mvtag {

enum class ErrorKind {
  Usage,    // bad command line                    -> exit 2
  Config,   // bad configuration file or value     -> exit 2
  Data,     // malformed input data (lists, features, titles, weights)
  Io,       // a file that cannot be opened, read or written
  Model,    // weights or shapes that do not fit the network
  Runtime,  // anything else that failed while running
};

// Where an error happened. Every field is optional; what() shows the ones that are set.
struct Location {
  std::string file;
  std::size_t line = 0;  // 1-based; 0 = unknown
  std::string key;       // config key ("TRAIN.epoch"), pickle key, JSON key ...
  std::string tensor;    // tensor / parameter name
};

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message, Location where = {});

  ErrorKind kind() const { return kind_; }
  const Location& where() const { return where_; }
  // The bare message, without the location prefix.
  const std::string& message() const { return message_; }
  // 2 for usage and configuration errors, 1 otherwise.
  int exit_code() const;

 private:
  ErrorKind kind_;
  std::string message_;
  Location where_;
};

// "file:line: key 'k': tensor 't': message", leaving out the parts that are not set.
std::string format_error(const std::string& message, const Location& where);

// Shorthands for the common cases.
[[noreturn]] void throw_error(ErrorKind kind, const std::string& message, Location where = {});
inline Location at_file(const std::string& file, std::size_t line = 0) {
  Location l;
  l.file = file;
  l.line = line;
  return l;
}

}  // namespace mvtag
