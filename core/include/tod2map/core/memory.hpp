#pragma once
// How much memory a rank may use, for checks made before large allocations.
#include <mpi.h>

#include <cstdint>

namespace tod2map {

/// Bytes this process may still allocate, shared fairly among the ranks of comm that run on
/// the same node: the smaller of MemAvailable (/proc/meminfo) and the room left under the
/// cgroup's memory limit (v2 memory.max or v1 limit_in_bytes), divided by the node's ranks.
/// -1 when neither can be read. Collective over comm.
std::int64_t available_memory_per_rank(MPI_Comm comm);

}  // namespace tod2map
