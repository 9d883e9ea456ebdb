// A request to stop long work early, shared between whoever asks (a signal handler, a test, a
// server shutting down) and the job that polls it (the trainer). Everything here is lock-free
// and async-signal-safe, so a signal handler may call it.
//
// Critical sections mark work that must not be cut short (writing a checkpoint): while one is
// open, a second stop request is not a reason to quit at once (see on_stop_signal()).
#pragma once

#include <atomic>

namespace mvtag {

class StopToken {
 public:
  // Asks the job to stop at its next safe point. `reason` is kept from the first request only
  // (a signal number for signals; any non-zero value otherwise).
  void request(int reason = 1) noexcept {
    int none = 0;
    reason_.compare_exchange_strong(none, reason == 0 ? 1 : reason);
    requests_.fetch_add(1);
  }
  bool requested() const noexcept { return requests_.load() > 0; }
  int requests() const noexcept { return requests_.load(); }
  // The first request's reason; 0 when none was made.
  int reason() const noexcept { return reason_.load(); }

  // RAII: the job is writing something that must be completed once started.
  class CriticalSection {
   public:
    explicit CriticalSection(StopToken* token) : token_(token) {
      if (token_) token_->critical_.fetch_add(1);
    }
    ~CriticalSection() {
      if (token_) token_->critical_.fetch_sub(1);
    }
    CriticalSection(const CriticalSection&) = delete;
    CriticalSection& operator=(const CriticalSection&) = delete;

   private:
    StopToken* token_;
  };
  bool in_critical_section() const noexcept { return critical_.load() > 0; }

 private:
  std::atomic<int> requests_{0};
  std::atomic<int> reason_{0};
  std::atomic<int> critical_{0};
};

// What a process should do on a stop signal, given its token (records the request):
//   the first signal                 -> Stop: finish the current step, save, exit 128+signal
//   another one during a save        -> Wait: the save completes first, then the process stops
//   another one at any other moment  -> Quit: leave at once (nothing is half-written)
enum class StopAction { Stop, Wait, Quit };
inline StopAction on_stop_signal(StopToken& token, int signal_number) noexcept {
  const bool first = !token.requested();
  token.request(signal_number);
  if (first) return StopAction::Stop;
  return token.in_critical_section() ? StopAction::Wait : StopAction::Quit;
}

// The shell convention for a process ended by a signal: 128 + its number (130 SIGINT, 143 SIGTERM).
inline int exit_code_for_signal(int signal_number) noexcept { return 128 + signal_number; }

}  // namespace mvtag
