#pragma once
// Catching the signals that ask a long run to stop (SIGTERM from a batch system or mpirun,
// SIGINT from Ctrl-C, SIGUSR1 as mpirun forwards it without a kill timer) during a window in
// which the run can stop cleanly, e.g. between two CG iterations after saving its state.
// Outside that window the process keeps its usual dispositions: a SIGTERM while reading still
// ends it at once, as before.
#include "tod2map/core/noncopyable.hpp"

namespace tod2map {

/// RAII: while alive, SIGTERM, SIGINT and SIGUSR1 only record that they arrived (signal());
/// the caller polls and decides when to stop. The handler does nothing else (it is
/// async-signal-safe) and restarts interrupted system calls (SA_RESTART), so file and MPI calls
/// in flight are not disturbed. The destructor restores the dispositions found at construction
/// and, when a signal arrived that the caller did not acknowledge(), raises it again, so that it
/// has the effect it would have had without the guard (the process ends, or an enclosing
/// handler such as Python's sees it). One guard at a time per process; not collective.
class InterruptGuard : NonCopyable {
 public:
  InterruptGuard();
  ~InterruptGuard();

  /// The last signal that arrived while the guard was alive on this process, 0 if none.
  int signal() const;
  /// The caller has acted on the signal (stopped cleanly): the destructor does not raise it.
  void acknowledge();
};

/// "SIGTERM", "SIGINT", "SIGUSR1", or "signal N".
const char* signal_name(int signal);

}  // namespace tod2map

// ---------------------------------------------------------------------------------------------
// Stopping a run that a signal (or Ctrl-C in Python) interrupts outside such a window.
//
// Design (issue 14, "Interrupts"):
//  * The command-line tool calls install_stop_handlers() once: SIGINT and SIGTERM then end the
//    process at once, from the handler itself, with only async-signal-safe calls: unlink() of
//    every registered .partial file (PartialFileScope), one write(2) of
//    "tod2map <command>: interrupted (SIGTERM) during <phase>" on rank 0 of MPI_COMM_WORLD
//    (mpirun forwards the signal to every rank: one line, not one per rank), then
//    _exit(128 + signal). Nothing else can run safely in a handler (no MPI, no HDF5 close, no
//    destructors), and nothing else is needed: the files we were writing are gone and mpirun
//    sees every rank end. While an InterruptGuard is alive (a CG that can save a checkpoint)
//    its record-only handler takes precedence, as before; it restores ours when it goes.
//  * SIGXFSZ (the file-size limit of `ulimit -f`) is ignored by install_stop_handlers (Python
//    ignores it already), so a write past the limit fails with EFBIG and is reported as an
//    error ("file too large") like any other failed write, which removes its .partial.
//  * Where no handler may end the process (Python: the interpreter must stay usable), the
//    host registers a poller (set_interrupt_poller); the run calls poll_interrupt() at points
//    where it can stop cleanly (each timeline read, each simulated observation, each CG
//    iteration, between the steps of a map write), which throws Interrupted. The poll points
//    inside collective() blocks are agreed over the ranks like any other error, and the CG
//    folds the poll into its allreduce, so all ranks stop at the same point.
// ---------------------------------------------------------------------------------------------
#include <string>

namespace tod2map {

/// What the run is doing now ("reading", "pointing", "solving", "writing", "simulating", ...),
/// as the stop message names it. "starting" before the first PhaseScope.
const char* current_phase();

/// RAII: sets the current phase (a string literal: the signal handler reads the pointer) and
/// restores the previous one when it goes.
class PhaseScope : NonCopyable {
 public:
  explicit PhaseScope(const char* phase);
  ~PhaseScope();

 private:
  const char* previous_;
};

/// RAII: while alive, `path` (a temporary file such as out/map.h5.partial, registered before it
/// is created) is removed by the stop handler if a signal ends the process. Up to 64 paths of
/// up to 4095 bytes at a time per process; a path beyond that is not registered (it is then
/// left behind by a signal, as before). The owner still removes the file itself on errors.
class PartialFileScope : NonCopyable {
 public:
  explicit PartialFileScope(const std::string& path);
  ~PartialFileScope();

 private:
  int slot_;
};

/// The command-line tool's handlers (see above): SIGINT and SIGTERM remove the registered
/// partial files, print "tod2map <command>: interrupted (<signal>) during <phase>" when `rank`
/// is 0 and end the process with status 128 + signal; SIGXFSZ is ignored. `command` is copied.
void install_stop_handlers(const char* command, int rank);

/// Returns the signal that asks the run to stop (0 if none). It may keep a host error (the
/// Python exception a Ctrl-C raised) for the host to report once Interrupted reaches it.
using InterruptPoller = int (*)();
/// Sets (or, with nullptr, clears) the poller that interrupt_requested() asks.
void set_interrupt_poller(InterruptPoller poller);
/// Whether a poller is set.
bool interrupt_polling();
/// The poller's answer, 0 without a poller. Not collective.
int interrupt_requested();
/// Throws Interrupted ("interrupted (SIGINT) during <phase>") if interrupt_requested(). Not
/// collective: call it where a throw is agreed over the ranks (inside collective()).
void poll_interrupt();

}  // namespace tod2map
