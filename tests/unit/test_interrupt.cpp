// InterruptGuard (core/interrupt.hpp): while alive, SIGTERM, SIGINT and SIGUSR1 only set a
// flag; afterwards the dispositions are as before; a signal nobody acknowledged is raised
// again when the guard goes (checked in a forked child, which it ends).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

#include "tod2map/core/error.hpp"
#include "tod2map/core/failure.hpp"
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

// The command-line tool's stop handlers (install_stop_handlers), in a forked child: what it
// prints on stderr (captured in a pipe), its exit status, and the files left.
struct Stopped {
  int status = -1;
  std::string err;
};

template <class F>
Stopped run_child(F&& body) {
  int fds[2];
  if (pipe(fds) != 0) return {};
  const pid_t child = fork();
  if (child == 0) {
    close(fds[0]);
    dup2(fds[1], STDERR_FILENO);
    body();
    _exit(0);  // reached only if the signal was swallowed
  }
  close(fds[1]);
  Stopped s;
  char buf[512];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) s.err.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  int status = 0;
  waitpid(child, &status, 0);
  s.status = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  return s;
}

std::string temp_path(const char* name) {
  return (std::filesystem::temp_directory_path() /
          (std::string("tod2map_test_interrupt_") + std::to_string(getpid()) + "_" + name))
      .string();
}

TEST(StopHandlers, SignalRemovesRegisteredPartialsSaysPhaseOnceAndExits128PlusSignal) {
  const std::string partial = temp_path("map.h5.partial");
  const std::string other = temp_path("kept.partial");  // not registered: not ours to remove
  const std::string done = temp_path("done.partial");   // registered, then unregistered
  std::ofstream(other) << "x";
  for (const int sig : {SIGTERM, SIGINT}) {
    std::ofstream(done) << "x";
    const Stopped s = run_child([&] {
      tod2map::install_stop_handlers("run", 0);
      { const tod2map::PartialFileScope gone(done); }
      const tod2map::PhaseScope phase("writing");
      const tod2map::PartialFileScope registered(partial);
      std::ofstream(partial) << "half a map";
      std::raise(sig);
    });
    EXPECT_EQ(s.status, 128 + sig);
    EXPECT_EQ(s.err, std::string("tod2map run: interrupted (") + tod2map::signal_name(sig) +
                         ") during writing\n");
    EXPECT_FALSE(std::filesystem::exists(partial));
    EXPECT_TRUE(std::filesystem::exists(done));
    EXPECT_TRUE(std::filesystem::exists(other));
  }
  std::filesystem::remove(other);
  std::filesystem::remove(done);
}

TEST(StopHandlers, OtherRanksStaySilentAndTheGuardStillTakesPrecedence) {
  const Stopped quiet = run_child([] {
    tod2map::install_stop_handlers("sim", 3);
    std::raise(SIGTERM);
  });
  EXPECT_EQ(quiet.status, 128 + SIGTERM);
  EXPECT_EQ(quiet.err, "");
  // Inside a checkpoint window the guard only records; ours is back (and ends the process)
  // when the guard goes with the signal unacknowledged.
  const Stopped guarded = run_child([] {
    tod2map::install_stop_handlers("run", 0);
    const tod2map::PhaseScope phase("solving");
    {
      InterruptGuard guard;
      std::raise(SIGINT);
      if (guard.signal() != SIGINT) _exit(3);
      std::fputs("recorded\n", stderr);
      std::fflush(stderr);
    }
  });
  EXPECT_EQ(guarded.status, 128 + SIGINT);
  EXPECT_EQ(guarded.err, "recorded\ntod2map run: interrupted (SIGINT) during solving\n");
}

TEST(StopHandlers, FileSizeLimitIsAnErrorNotASignal) {
  const std::string path = temp_path("big");
  const Stopped s = run_child([&] {
    tod2map::install_stop_handlers("run", 0);
    struct rlimit limit = {4096, 4096};
    setrlimit(RLIMIT_FSIZE, &limit);
    const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    char block[8192] = {0};
    const ssize_t n = write(fd, block, sizeof block);  // 4096 written
    const ssize_t m = write(fd, block, sizeof block);  // nothing: EFBIG, no SIGXFSZ
    const int error = errno;
    close(fd);
    std::fprintf(stderr, "%zd %zd%s", n, m, tod2map::file_too_large_note(error).c_str());
    _exit(1);
  });
  EXPECT_EQ(s.status, 1);
  EXPECT_EQ(s.err, "4096 -1; file too large (the file-size limit, ulimit -f, is 4096 bytes)");
  std::filesystem::remove(path);
}

TEST(PollInterrupt, PollerAnswerBecomesInterruptedNamingThePhase) {
  EXPECT_FALSE(tod2map::interrupt_polling());
  EXPECT_NO_THROW(tod2map::poll_interrupt());
  tod2map::set_interrupt_poller([] { return SIGINT; });
  {
    const tod2map::PhaseScope phase("reading");
    try {
      tod2map::poll_interrupt();
      ADD_FAILURE() << "expected Interrupted";
    } catch (const tod2map::Interrupted& e) {
      EXPECT_EQ(e.signal(), SIGINT);
      EXPECT_STREQ(e.what(), "interrupted (SIGINT) during reading");
    }
  }
  EXPECT_STREQ(tod2map::current_phase(), "starting");
  tod2map::set_interrupt_poller(nullptr);
  EXPECT_EQ(tod2map::interrupt_requested(), 0);
}

TEST(InterruptGuard, SignalNames) {
  EXPECT_STREQ(tod2map::signal_name(SIGTERM), "SIGTERM");
  EXPECT_STREQ(tod2map::signal_name(SIGINT), "SIGINT");
  EXPECT_STREQ(tod2map::signal_name(SIGUSR1), "SIGUSR1");
  EXPECT_STREQ(tod2map::signal_name(SIGHUP), "signal 1");
}

}  // namespace
