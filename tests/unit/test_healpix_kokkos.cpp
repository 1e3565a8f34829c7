// The HEALPix functions run inside a Kokkos kernel, on Kokkos::View data in the default
// execution space's memory, and give the same answers as the same calls made on the host
// (which test_healpix proves equal to libchealpix). On a CPU build this checks that the code
// compiles and behaves as KOKKOS_INLINE_FUNCTION; on a GPU build it runs on the device, where
// only directions within a few ulp of a pixel edge may differ (see healpix.hpp) and none of
// these test directions is that close to one.
#include <gtest/gtest.h>

#include <Kokkos_Core.hpp>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>

#include "tod2map/pixelization/healpix.hpp"

namespace hp = tod2map::healpix;
using hp::index_t;

namespace {

using Space = Kokkos::DefaultExecutionSpace;
using DoubleView = Kokkos::View<double*, Space::memory_space>;
using IndexView = Kokkos::View<index_t*, Space::memory_space>;

struct DeviceResults {
  IndexView ring, nest, ring2nest, nest2ring;
  DoubleView theta_ring, phi_ring, theta_nest, phi_nest;
};

// Kept out of the TEST body: CUDA does not allow extended lambdas inside the private member
// function GoogleTest generates for it.
DeviceResults run_on_device(index_t nside, const DoubleView& theta, const DoubleView& phi,
                            const IndexView& pixels) {
  const auto n = theta.extent(0);
  DeviceResults r{IndexView("ring", n),        IndexView("nest", n),
                  IndexView("ring2nest", n),   IndexView("nest2ring", n),
                  DoubleView("theta_ring", n), DoubleView("phi_ring", n),
                  DoubleView("theta_nest", n), DoubleView("phi_nest", n)};
  const DeviceResults out = r;
  Kokkos::parallel_for(
      "tod2map::healpix::test_kernel", Kokkos::RangePolicy<Space>(0, n), KOKKOS_LAMBDA(int i) {
        out.ring(i) = hp::ang2pix(nside, hp::Ordering::ring, theta(i), phi(i));
        out.nest(i) = hp::ang2pix(nside, hp::Ordering::nest, theta(i), phi(i));
        const index_t p = pixels(i);
        out.ring2nest(i) = hp::ring2nest(nside, p);
        out.nest2ring(i) = hp::nest2ring(nside, p);
        hp::pix2ang(nside, hp::Ordering::ring, p, out.theta_ring(i), out.phi_ring(i));
        hp::pix2ang(nside, hp::Ordering::nest, p, out.theta_nest(i), out.phi_nest(i));
      });
  Kokkos::fence();
  return r;
}

std::uint64_t bits(double x) {
  std::uint64_t b;
  std::memcpy(&b, &x, sizeof b);
  return b;
}

}  // namespace

TEST(HealpixKokkos, KernelMatchesHostCalls) {
  constexpr int n = 200000;
  for (index_t nside : {index_t(1), index_t(256), index_t(8192), index_t(1) << 29}) {
    DoubleView theta("theta", n), phi("phi", n);
    IndexView pixels("pixels", n);
    auto h_theta = Kokkos::create_mirror_view(theta);
    auto h_phi = Kokkos::create_mirror_view(phi);
    auto h_pix = Kokkos::create_mirror_view(pixels);
    std::mt19937_64 rng(1234 + static_cast<std::uint64_t>(nside));
    const double u53 = 0x1.0p-53;
    for (int i = 0; i < n; ++i) {
      const double a = static_cast<double>(rng() >> 11) * u53;
      const double b = static_cast<double>(rng() >> 11) * u53;
      // Every fourth direction near a pole, where the sin(theta) formulas apply.
      h_theta(i) = (i % 4 == 0) ? 0.1 * a * a : std::acos(2 * a - 1);
      if (i % 8 == 0) h_theta(i) = M_PI - h_theta(i);
      h_phi(i) = (b - 0.25) * 3 * M_PI;  // includes negative phi and phi > 2 pi
      h_pix(i) = static_cast<index_t>(rng() % static_cast<std::uint64_t>(hp::nside2npix(nside)));
    }
    Kokkos::deep_copy(theta, h_theta);
    Kokkos::deep_copy(phi, h_phi);
    Kokkos::deep_copy(pixels, h_pix);

    const DeviceResults d = run_on_device(nside, theta, phi, pixels);
    auto ring = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), d.ring);
    auto nest = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), d.nest);
    auto r2n = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), d.ring2nest);
    auto n2r = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), d.nest2ring);
    auto tr = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), d.theta_ring);
    auto pr = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), d.phi_ring);
    auto tn = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), d.theta_nest);
    auto pn = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), d.phi_nest);

    int bad = 0;
    for (int i = 0; i < n && bad < 5; ++i) {
      const index_t p = h_pix(i);
      double t_ring, f_ring, t_nest, f_nest;
      hp::pix2ang_ring(nside, p, t_ring, f_ring);
      hp::pix2ang_nest(nside, p, t_nest, f_nest);
      const bool ok = ring(i) == hp::ang2pix_ring(nside, h_theta(i), h_phi(i)) &&
                      nest(i) == hp::ang2pix_nest(nside, h_theta(i), h_phi(i)) &&
                      r2n(i) == hp::ring2nest(nside, p) && n2r(i) == hp::nest2ring(nside, p) &&
                      bits(tr(i)) == bits(t_ring) && bits(pr(i)) == bits(f_ring) &&
                      bits(tn(i)) == bits(t_nest) && bits(pn(i)) == bits(f_nest);
      if (!ok) {
        ++bad;
        ADD_FAILURE() << "nside " << nside << " i " << i << " theta " << h_theta(i) << " phi "
                      << h_phi(i) << " pix " << p;
      }
      // Sanity of what the kernel produced, not just agreement with the host.
      ASSERT_GE(ring(i), 0);
      ASSERT_LT(ring(i), hp::nside2npix(nside));
      ASSERT_EQ(hp::ring2nest(nside, ring(i)), nest(i));
    }
    EXPECT_EQ(bad, 0) << "nside " << nside;
  }
}
