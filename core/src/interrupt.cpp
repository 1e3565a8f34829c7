#include "tod2map/core/interrupt.hpp"

#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include "tod2map/core/enum_names.hpp"
#include "tod2map/core/error.hpp"

namespace tod2map {
namespace {

// The signals a guard catches, with their names.
constexpr EnumName<int> kSignals[] = {
    {SIGTERM, "SIGTERM"}, {SIGINT, "SIGINT"}, {SIGUSR1, "SIGUSR1"}};
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
  for (int i = 0; i < kCount; ++i) sigaction(kSignals[i].first, &action, &g_previous[i]);
}

InterruptGuard::~InterruptGuard() {
  for (int i = 0; i < kCount; ++i) sigaction(kSignals[i].first, &g_previous[i], nullptr);
  const int pending = g_signal.exchange(0);
  g_active.store(false);
  if (pending != 0) std::raise(pending);
}

int InterruptGuard::signal() const { return g_signal.load(std::memory_order_relaxed); }

void InterruptGuard::acknowledge() { g_signal.store(0); }

// ---- stop handlers, phases, partial files, pollers ----
namespace {

std::atomic<const char*> g_phase{"starting"};

// The partial-file registry: fixed storage, so that the handler needs no allocation and no lock.
// A slot is 0 (free), 1 (being filled or emptied: the handler skips it) or 2 (holds a path).
constexpr int kSlots = 64;
constexpr std::size_t kPathMax = 4096;
std::atomic<int> g_slot_state[kSlots];
char g_slot_path[kSlots][kPathMax];

char g_command[64] = "";
int g_rank = 0;
std::atomic<bool> g_stopping{false};
std::atomic<InterruptPoller> g_poller{nullptr};

void write_all(const char* text) {
  std::size_t left = std::strlen(text);
  while (left > 0) {
    const ssize_t n = ::write(STDERR_FILENO, text, left);
    if (n <= 0) return;
    text += n;
    left -= static_cast<std::size_t>(n);
  }
}

extern "C" void stop_now(int signal) {
  // A second signal (on another thread, or twice) waits for the first to end the process.
  if (g_stopping.exchange(true)) {
    for (;;) ::pause();
  }
  for (int i = 0; i < kSlots; ++i)
    if (g_slot_state[i].load() == 2) ::unlink(g_slot_path[i]);
  if (g_rank == 0) {
    // One write(2) of the whole line, so it is never interleaved with other output.
    char line[256] = "tod2map ";
    auto append = [&](const char* s) {
      std::size_t used = std::strlen(line), n = std::strlen(s);
      if (used + n >= sizeof line) n = sizeof line - 1 - used;
      std::memcpy(line + used, s, n);
      line[used + n] = '\0';
    };
    if (g_command[0] != '\0') {
      append(g_command);
    } else {
      line[7] = '\0';  // "tod2map" alone
    }
    append(": interrupted (");
    append(signal == SIGTERM ? "SIGTERM" : signal == SIGINT ? "SIGINT" : "signal");
    append(") during ");
    append(g_phase.load());
    append("\n");
    write_all(line);
  }
  ::_exit(128 + signal);
}

}  // namespace

const char* current_phase() { return g_phase.load(); }

PhaseScope::PhaseScope(const char* phase) : previous_(g_phase.exchange(phase)) {}
PhaseScope::~PhaseScope() { g_phase.store(previous_); }

PartialFileScope::PartialFileScope(const std::string& path) : slot_(-1) {
  if (path.size() >= kPathMax) return;
  for (int i = 0; i < kSlots; ++i) {
    int expected = 0;
    if (g_slot_state[i].compare_exchange_strong(expected, 1)) {
      std::memcpy(g_slot_path[i], path.c_str(), path.size() + 1);
      g_slot_state[i].store(2);
      slot_ = i;
      return;
    }
  }
}

PartialFileScope::~PartialFileScope() {
  if (slot_ >= 0) g_slot_state[slot_].store(0);
}

void install_stop_handlers(const char* command, int rank) {
  std::snprintf(g_command, sizeof g_command, "%s", command);
  g_rank = rank;
  struct sigaction action {};
  action.sa_handler = stop_now;
  sigfillset(&action.sa_mask);  // nothing else runs on this thread while the handler does
  action.sa_flags = 0;
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
  // A write past `ulimit -f` then fails with EFBIG and is reported, instead of killing us.
  std::signal(SIGXFSZ, SIG_IGN);
}

void set_interrupt_poller(InterruptPoller poller) { g_poller.store(poller); }

bool interrupt_polling() { return g_poller.load() != nullptr; }

int interrupt_requested() {
  const InterruptPoller poller = g_poller.load();
  return poller ? poller() : 0;
}

void poll_interrupt() {
  if (const int signal = interrupt_requested())
    throw Interrupted(
        signal, std::string("interrupted (") + signal_name(signal) + ") during " + current_phase());
}

const char* signal_name(int signal) {
  if (const char* name = enum_name(kSignals, signal, nullptr)) return name;
  static thread_local char text[24];
  std::snprintf(text, sizeof text, "signal %d", signal);
  return text;
}

}  // namespace tod2map
