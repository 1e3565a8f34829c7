#pragma once
// Catching the signals that ask a long run to stop (SIGTERM from a batch system or mpirun,
// SIGINT from Ctrl-C, SIGUSR1 as mpirun forwards it without a kill timer) during a window in
// which the run can stop cleanly, e.g. between two CG iterations after saving its state.
// Outside that window the process keeps its usual dispositions: a SIGTERM while reading still
// ends it at once, as before.
namespace tod2map {

/// RAII: while alive, SIGTERM, SIGINT and SIGUSR1 only record that they arrived (signal());
/// the caller polls and decides when to stop. The handler does nothing else (it is
/// async-signal-safe) and restarts interrupted system calls (SA_RESTART), so file and MPI calls
/// in flight are not disturbed. The destructor restores the dispositions found at construction
/// and, when a signal arrived that the caller did not acknowledge(), raises it again, so that it
/// has the effect it would have had without the guard (the process ends, or an enclosing
/// handler such as Python's sees it). One guard at a time per process; not collective.
class InterruptGuard {
 public:
  InterruptGuard();
  ~InterruptGuard();
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;

  /// The last signal that arrived while the guard was alive on this process, 0 if none.
  int signal() const;
  /// The caller has acted on the signal (stopped cleanly): the destructor does not raise it.
  void acknowledge();
};

/// "SIGTERM", "SIGINT", "SIGUSR1", or "signal N".
const char* signal_name(int signal);

}  // namespace tod2map
