// SIGINT and SIGTERM turned into stop requests on a StopToken, for a job that saves its work
// before it stops (training now, a server later). While a StopSignals object is alive:
//   the first signal        -> token.request(signal): the job stops at its next safe point;
//   another, during a save  -> waits (the token's critical section), the save completes;
//   another, at other times -> the process exits at once with 128 + the signal.
// The given messages are written to stderr for the first two cases. One object at a time per
// process; the previous handlers are restored when it goes.
#pragma once

#include <signal.h>

#include <string>

#include "mvtag/core/base/stop_token.h"

namespace mvtag {

class StopSignals {
 public:
  StopSignals(StopToken& token, std::string stopping_message, std::string waiting_message);
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

 private:
  std::string stopping_;
  std::string waiting_;
  struct sigaction previous_int_ {};
  struct sigaction previous_term_ {};
};

}  // namespace mvtag
