// InterruptGuard (core/interrupt.hpp): while alive, SIGTERM, SIGINT and SIGUSR1 only set a
// flag; afterwards the dispositions are as before; a signal nobody acknowledged is raised
// again when the guard goes (checked in a forked child, which it ends).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <stdexcept>

#include "tod2map/core/interrupt.hpp"

using tod2map::InterruptGuard;

namespace {

// The handler currently installed for sig.
void (*handler_of(int sig))(int) {
  struct sigaction now {};
  sigaction(sig, nullptr, &now);
  return now.sa_handler;
}

class Interrupt : public ::testing::TestWithParam<int> {};

TEST_P(Interrupt, SignalOnlySetsTheFlagAndDispositionsAreRestored) {
  const int sig = GetParam();
  const auto before = handler_of(sig);
  {
    InterruptGuard guard;
    EXPECT_EQ(guard.signal(), 0);
    EXPECT_NE(handler_of(sig), before);
    ASSERT_EQ(std::raise(sig), 0);  // delivered synchronously to this thread
    EXPECT_EQ(guard.signal(), sig);
    guard.acknowledge();
    EXPECT_EQ(guard.signal(), 0);
  }
  EXPECT_EQ(handler_of(sig), before);
}

INSTANTIATE_TEST_SUITE_P(Signals, Interrupt, ::testing::Values(SIGTERM, SIGINT, SIGUSR1));

TEST(InterruptGuard, OnlyOneAtATime) {
  InterruptGuard guard;
  EXPECT_THROW(InterruptGuard second, std::logic_error);
}

TEST(InterruptGuard, UnacknowledgedSignalIsRaisedAgainWhenTheGuardGoes) {
  // The child must end by the signal itself, as it would have without the guard. It makes
  // no MPI call (the parent's MPI state is not the child's to use).
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    signal(SIGTERM, SIG_DFL);
    {
      InterruptGuard guard;
      std::raise(SIGTERM);
      if (guard.signal() != SIGTERM) _exit(3);
    }
    _exit(0);  // reached only if the signal was swallowed
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with status " << WEXITSTATUS(status);
  EXPECT_EQ(WTERMSIG(status), SIGTERM);
}

TEST(InterruptGuard, AcknowledgedSignalIsNotRaisedAgain) {
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    signal(SIGTERM, SIG_DFL);
    {
      InterruptGuard guard;
      std::raise(SIGTERM);
      guard.acknowledge();
    }
    _exit(7);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 7);
}

TEST(InterruptGuard, SignalNames) {
  EXPECT_STREQ(tod2map::signal_name(SIGTERM), "SIGTERM");
  EXPECT_STREQ(tod2map::signal_name(SIGINT), "SIGINT");
  EXPECT_STREQ(tod2map::signal_name(SIGUSR1), "SIGUSR1");
  EXPECT_STREQ(tod2map::signal_name(SIGHUP), "signal 1");
}

}  // namespace
