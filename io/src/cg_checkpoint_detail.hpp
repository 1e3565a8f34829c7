#pragma once
// Private pieces shared by the CG checkpoint writer and reader: the names in the file and the
// checksum of a rank's state.
#include <hdf5.h>
#include <mpi.h>

#include <cstdint>
#include <string>

#include "tod2map/io/cg_checkpoint.hpp"

namespace tod2map::io::checkpoint {

/// Root attribute "format": what the file is, so that a map or another HDF5 file given as a
/// checkpoint is named as such.
constexpr const char* kFormat = "tod2map CG checkpoint";
/// Root attribute "format_version": bumped when the layout changes.
constexpr std::int64_t kFormatVersion = 1;

/// 64-bit FNV-1a over the rank's vectors, the residual history and the scalars: damage to
/// any of them shows on resume, not as a wrong map.
std::uint64_t state_checksum(const CgCheckpoint& state);

/// File access through MPI-IO on comm. The caller closes the returned id with H5Pclose.
hid_t mpio_file_access(MPI_Comm comm, const std::string& where);

}  // namespace tod2map::io::checkpoint
