#include "tod2map/core/memory.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>

#include "tod2map/core/error.hpp"

namespace tod2map {
namespace {

// A byte count from the first line of a cgroup file; -1 when absent or "max" (no limit).
std::int64_t read_limit(const char* path) {
  std::ifstream in(path);
  std::string text;
  if (!(in >> text) || text == "max") return -1;
  try {
    return static_cast<std::int64_t>(std::stoll(text));
  } catch (...) {
    return -1;
  }
}

std::int64_t mem_available() {
  std::ifstream in("/proc/meminfo");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string key;
    long long kib = 0;
    if (words >> key >> kib && key == "MemAvailable:") return kib * 1024;
  }
  return -1;
}

std::int64_t cgroup_room() {
  // v2 first, then v1; a limit above the machine's memory (v1's "unlimited") means none.
  std::int64_t limit = read_limit("/sys/fs/cgroup/memory.max");
  std::int64_t used = read_limit("/sys/fs/cgroup/memory.current");
  if (limit < 0) {
    limit = read_limit("/sys/fs/cgroup/memory/memory.limit_in_bytes");
    used = read_limit("/sys/fs/cgroup/memory/memory.usage_in_bytes");
  }
  if (limit < 0 || limit >= (std::int64_t{1} << 60)) return -1;
  return std::max<std::int64_t>(limit - std::max<std::int64_t>(used, 0), 0);
}

}  // namespace

std::int64_t available_memory_per_rank(MPI_Comm comm) {
  MPI_Comm node = MPI_COMM_NULL;
  TOD2MAP_CHECK_MPI(MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node));
  int ranks_here = 1;
  MPI_Comm_size(node, &ranks_here);
  MPI_Comm_free(&node);
  const std::int64_t a = mem_available(), c = cgroup_room();
  std::int64_t room = a < 0 ? c : (c < 0 ? a : std::min(a, c));
  if (room < 0) return -1;
  room /= std::max(ranks_here, 1);
  // The smallest share over the ranks decides (each rank may sit on a different node).
  std::int64_t smallest = room;
  TOD2MAP_CHECK_MPI(MPI_Allreduce(&room, &smallest, 1, MPI_INT64_T, MPI_MIN, comm));
  return smallest;
}

}  // namespace tod2map
