// Stop requests from signals: the first stops after the current step, a second one waits for a
// save in progress and quits at once otherwise.
#include <csignal>

#include <gtest/gtest.h>

#include "mvtag/core/base/stop_signals.h"
#include "mvtag/core/base/stop_token.h"

using namespace mvtag;

TEST(StopToken, TheFirstRequestKeepsItsReason) {
  StopToken token;
  EXPECT_FALSE(token.requested());
  EXPECT_EQ(token.reason(), 0);
  token.request(SIGTERM);
  token.request(SIGINT);
  EXPECT_TRUE(token.requested());
  EXPECT_EQ(token.reason(), SIGTERM);
  EXPECT_EQ(token.requests(), 2);
}

TEST(StopToken, ASecondSignalWaitsForASaveAndQuitsOtherwise) {
  StopToken token;
  EXPECT_EQ(on_stop_signal(token, SIGINT), StopAction::Stop);
  {
    const StopToken::CriticalSection saving(&token);
    EXPECT_TRUE(token.in_critical_section());
    EXPECT_EQ(on_stop_signal(token, SIGINT), StopAction::Wait);
    EXPECT_EQ(on_stop_signal(token, SIGINT), StopAction::Wait);
  }
  EXPECT_FALSE(token.in_critical_section());
  EXPECT_EQ(on_stop_signal(token, SIGINT), StopAction::Quit);
  EXPECT_EQ(token.reason(), SIGINT);
}

TEST(StopToken, ExitCodesFollowTheShellConvention) {
  EXPECT_EQ(exit_code_for_signal(SIGINT), 130);
  EXPECT_EQ(exit_code_for_signal(SIGTERM), 143);
  const StopToken::CriticalSection nothing(nullptr);  // no token: a no-op
}

TEST(StopSignals, ASignalBecomesAStopRequestWhileInstalled) {
  StopToken token;
  {
    const StopSignals signals(token, "", "");
    ::raise(SIGTERM);  // with the handler installed: a request, not the end of the test process
    EXPECT_TRUE(token.requested());
    EXPECT_EQ(token.reason(), SIGTERM);
    const StopToken::CriticalSection saving(&token);
    ::raise(SIGINT);  // a second one during a save waits
    EXPECT_EQ(token.requests(), 2);
  }
  struct sigaction now {};
  ::sigaction(SIGINT, nullptr, &now);
  EXPECT_EQ(now.sa_handler, SIG_DFL);  // restored
}
