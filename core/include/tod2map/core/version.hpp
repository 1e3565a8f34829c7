#pragma once
namespace tod2map {
/// The version string written into output files ("0.1.0").
const char* version();
}  // namespace tod2map
