#include "mvtag/core/base/stop_signals.h"

#include <unistd.h>

#include <atomic>
#include <cstring>

namespace mvtag {

namespace {
// What the handler reads: set before the handler is installed, cleared after it is removed.
std::atomic<StopToken*> g_token{nullptr};
const char* g_stopping = "";
const char* g_waiting = "";

void say(const char* text) {  // async-signal-safe
  const ssize_t ignored = ::write(STDERR_FILENO, text, std::strlen(text));
  (void)ignored;
}

extern "C" void on_signal(int sig) {
  StopToken* token = g_token.load();
  if (token == nullptr) ::_exit(exit_code_for_signal(sig));
  switch (on_stop_signal(*token, sig)) {
    case StopAction::Stop:
      say(g_stopping);
      break;
    case StopAction::Wait:
      say(g_waiting);
      break;
    case StopAction::Quit:
      ::_exit(exit_code_for_signal(sig));
  }
}
}  // namespace

StopSignals::StopSignals(StopToken& token, std::string stopping_message, std::string waiting_message)
    : stopping_(std::move(stopping_message)), waiting_(std::move(waiting_message)) {
  g_stopping = stopping_.c_str();
  g_waiting = waiting_.c_str();
  g_token.store(&token);
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  ::sigaction(SIGINT, &action, &previous_int_);
  ::sigaction(SIGTERM, &action, &previous_term_);
}

StopSignals::~StopSignals() {
  ::sigaction(SIGINT, &previous_int_, nullptr);
  ::sigaction(SIGTERM, &previous_term_, nullptr);
  g_token.store(nullptr);
  g_stopping = g_waiting = "";
}

}  // namespace mvtag
