#include "tod2map/core/version.hpp"

namespace tod2map {
const char* version() { return TOD2MAP_VERSION_STRING; }
}  // namespace tod2map
