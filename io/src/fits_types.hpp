#pragma once
// CFITSIO column type codes as every FITS reader (maps, timelines) classifies them. Not
// installed.
#include <fitsio.h>

namespace tod2map::io::detail {

/// True for CFITSIO's integer column types, signed or unsigned, 8 to 64 bits.
inline bool is_fits_integer_type(int type) {
  switch (type) {
    case TBYTE:
    case TSBYTE:
    case TSHORT:
    case TUSHORT:
    case TINT:
    case TUINT:
    case TLONG:
    case TULONG:
    case TLONGLONG:
    case TULONGLONG:
      return true;
    default:
      return false;
  }
}

}  // namespace tod2map::io::detail
