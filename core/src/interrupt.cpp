#include "tod2map/core/interrupt.hpp"

#include <atomic>
#include <csignal>
#include <cstdio>
#include <stdexcept>

namespace tod2map {
namespace {

constexpr int kSignals[] = {SIGTERM, SIGINT, SIGUSR1};
constexpr int kCount = sizeof kSignals / sizeof kSignals[0];

// Lock-free atomics are async-signal-safe, and any thread (MPI progress threads included) may
// take the signal, so the flag is an atomic rather than a plain sig_atomic_t.
std::atomic<int> g_signal{0};
std::atomic<bool> g_active{false};
struct sigaction g_previous[kCount];

extern "C" void record_signal(int signal) { g_signal.store(signal, std::memory_order_relaxed); }

}  // namespace

InterruptGuard::InterruptGuard() {
  if (g_active.exchange(true))
    throw std::logic_error("InterruptGuard: another guard is already alive in this process");
  g_signal.store(0);
  struct sigaction action {};
  action.sa_handler = record_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  for (int i = 0; i < kCount; ++i) sigaction(kSignals[i], &action, &g_previous[i]);
}

InterruptGuard::~InterruptGuard() {
  for (int i = 0; i < kCount; ++i) sigaction(kSignals[i], &g_previous[i], nullptr);
  const int pending = g_signal.exchange(0);
  g_active.store(false);
  if (pending != 0) std::raise(pending);
}

int InterruptGuard::signal() const { return g_signal.load(std::memory_order_relaxed); }

void InterruptGuard::acknowledge() { g_signal.store(0); }

const char* signal_name(int signal) {
  switch (signal) {
    case SIGTERM:
      return "SIGTERM";
    case SIGINT:
      return "SIGINT";
    case SIGUSR1:
      return "SIGUSR1";
    default: {
      static thread_local char text[24];
      std::snprintf(text, sizeof text, "signal %d", signal);
      return text;
    }
  }
}

}  // namespace tod2map
