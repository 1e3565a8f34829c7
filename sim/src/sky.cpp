// Synthetic and file skies for the simulator (see sky.hpp).
#include "tod2map/sim/sky.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "tod2map/core/error.hpp"
#include "tod2map/core/mpi.hpp"
#include "tod2map/io/healpix_map_fits.hpp"
#include "tod2map/pixelization/healpix.hpp"
#include "tod2map/sim/random.hpp"

namespace tod2map::sim {
namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr double kDeg = kPi / 180.0;

}  // namespace

SyntheticSky::SyntheticSky(std::uint64_t seed) {
  Rng rng(derive_key({seed, static_cast<std::uint64_t>(Stream::sky)}));
  auto draw = [&rng](std::vector<Blob>& blobs, int count, double max_amplitude) {
    blobs.resize(count);
    for (Blob& b : blobs) {
      // Uniform on the sphere: z uniform in [-1, 1], longitude uniform.
      const double z = 2.0 * rng.uniform() - 1.0;
      const double lon = 2.0 * kPi * rng.uniform();
      const double rho = std::sqrt(std::max(0.0, 1.0 - z * z));
      const double width = (15.0 + 25.0 * rng.uniform()) * kDeg;
      b = Blob{rho * std::cos(lon), rho * std::sin(lon), z, 1.0 / (width * width),
               max_amplitude * (2.0 * rng.uniform() - 1.0)};
    }
  };
  draw(i_, 32, 100.0);
  draw(q_, 24, 10.0);
  draw(u_, 24, 10.0);
}

double SyntheticSky::sum(const std::vector<Blob>& blobs, double x, double y, double z) {
  double total = 0.0;
  for (const Blob& b : blobs) {
    const double arg = (x * b.x + y * b.y + z * b.z - 1.0) * b.inv_width2;
    // Below e^-60 a blob's contribution is far under the last bit of the sum: skip the exp.
    if (arg > -60.0) total += b.amplitude * std::exp(arg);
  }
  return total;
}

void SyntheticSky::evaluate(double theta, double phi, double& i, double& q, double& u) const {
  const double st = std::sin(theta);
  const double x = st * std::cos(phi), y = st * std::sin(phi), z = std::cos(theta);
  i = sum(i_, x, y, z);
  q = sum(q_, x, y, z);
  u = sum(u_, x, y, z);
}

Sky synthetic_sky(std::uint64_t seed, std::int64_t nside, MPI_Comm comm) {
  // Full-sky maps are held on every rank; beyond nside 8192 (npix >= 2^31, also MPI's int
  // counts) that is no longer sensible.
  if (!healpix::is_valid_nside(nside) || nside > 8192) {
    throw InvalidArgument("sim::synthetic_sky: nside " + std::to_string(nside) +
                          " (expected a power of two in 1 .. 8192)");
  }
  const std::int64_t npix = healpix::nside2npix(nside);
  const int rank = comm_rank(comm), nranks = comm_size(comm);
  std::vector<int> counts(nranks), displs(nranks);
  for (int r = 0; r < nranks; ++r) {
    displs[r] = static_cast<int>(npix * r / nranks);
    counts[r] = static_cast<int>(npix * (r + 1) / nranks) - displs[r];
  }
  const SyntheticSky model(seed);
  Sky sky;
  sky.nside = nside;
  sky.i.assign(npix, 0.0);
  sky.q.assign(npix, 0.0);
  sky.u.assign(npix, 0.0);
  for (std::int64_t p = displs[rank]; p < displs[rank] + counts[rank]; ++p) {
    double theta = 0.0, phi = 0.0;
    healpix::pix2ang_ring(nside, p, theta, phi);
    model.evaluate(theta, phi, sky.i[p], sky.q[p], sky.u[p]);
  }
  for (std::vector<double>* field : {&sky.i, &sky.q, &sky.u}) {
    TOD2MAP_CHECK_MPI(MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, field->data(),
                                     counts.data(), displs.data(), MPI_DOUBLE, comm));
  }
  return sky;
}

Sky read_sky(const std::string& path) {
  const std::string fn = "sim::read_sky: " + path;
  io::HealpixMap map = io::read_healpix_map(path, 3);
  const std::size_t nfields = map.fields.size();
  if (nfields != 1 && nfields != 3) {
    throw IoError(fn + ": " + std::to_string(nfields) +
                  " map columns (expected 1 for I, or 3 or more for I, Q, U)");
  }
  const double unseen = healpix::unseen;
  for (std::size_t k = 0; k < nfields; ++k) {
    const auto& f = map.fields[k];
    for (std::size_t p = 0; p < f.size(); ++p) {
      if (!std::isfinite(f[p]) || f[p] == unseen) {
        throw IoError(fn + ": column '" + map.names[k] + "' pixel " + std::to_string(p) + " (" +
                      map.ordering + ") is " + (std::isfinite(f[p]) ? "UNSEEN" : "not finite") +
                      " (the input sky must be defined on the full sky)");
      }
    }
  }
  Sky sky;
  sky.nside = map.nside;
  const std::int64_t npix = healpix::nside2npix(map.nside);
  std::vector<double>* out[3] = {&sky.i, &sky.q, &sky.u};
  for (std::size_t k = 0; k < 3; ++k) {
    if (k >= nfields) {
      out[k]->assign(npix, 0.0);
    } else if (map.ordering == "NEST") {
      out[k]->resize(npix);
      for (std::int64_t p = 0; p < npix; ++p)
        (*out[k])[healpix::nest2ring(map.nside, p)] = map.fields[k][p];
    } else {
      *out[k] = std::move(map.fields[k]);
    }
  }
  return sky;
}

}  // namespace tod2map::sim
