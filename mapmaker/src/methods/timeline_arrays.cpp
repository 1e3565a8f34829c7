#include "timeline_arrays.hpp"

#include <map>
#include <set>

#include "tod2map/core/error.hpp"
#include "tod2map/core/mpi.hpp"

namespace tod2map::mapmaker::detail {

std::vector<io::MapOutput::Array> timeline_arrays(
    MPI_Comm comm, const LocalData& data, const std::string& group, const std::string& key,
    const std::function<std::vector<double>(const TimelineSpan&)>& values) {
  std::map<std::string, std::vector<double>> mine;
  std::string names;
  for (const auto& s : data.spans) {
    const std::string name = group + "/" + s.detector + "/" + s.obsid;
    if (mine.count(name))
      throw InvalidArgument(key + ": two timelines of detector '" + s.detector + "' have OBSID " +
                            s.obsid + (s.file.empty() ? "" : " (" + s.file + ")"));
    mine[name] = values(s);
    names += name + '\n';
  }
  const int size = comm_size(comm);
  int len = static_cast<int>(names.size());
  std::vector<int> lens(static_cast<size_t>(size)), displs(static_cast<size_t>(size), 0);
  TOD2MAP_CHECK_MPI(MPI_Allgather(&len, 1, MPI_INT, lens.data(), 1, MPI_INT, comm));
  for (int r = 1; r < size; ++r) displs[r] = displs[r - 1] + lens[r - 1];
  std::string all(static_cast<size_t>(displs[size - 1] + lens[size - 1]), '\0');
  TOD2MAP_CHECK_MPI(MPI_Allgatherv(names.data(), len, MPI_CHAR, all.data(), lens.data(),
                                   displs.data(), MPI_CHAR, comm));
  std::set<std::string> sorted;
  for (size_t start = 0, end; (end = all.find('\n', start)) != std::string::npos; start = end + 1)
    sorted.insert(all.substr(start, end - start));
  std::vector<io::MapOutput::Array> out;
  for (const auto& name : sorted) {
    auto it = mine.find(name);
    out.push_back({name, it == mine.end() ? std::vector<double>{} : it->second});
  }
  return out;
}

}  // namespace tod2map::mapmaker::detail
