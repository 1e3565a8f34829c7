#pragma once
// Binned map-making: m = (P^T N^-1 P)^-1 P^T N^-1 d with N diagonal, solved block by block.
#include "tod2map/mapmaker/pixel_system.hpp"
#include "tod2map/solvers/pcg.hpp"

namespace tod2map::mapmaker {

/// Fills owned_map with the binned map of tod (masked pixels UNSEEN). The returned history
/// holds one step: the relative residual ||b - A m|| / ||b|| of the block solution over the
/// unmasked pixels, computed with one application of A = P^T N^-1 P (a check that the blocks
/// and the operators agree; round-off level when they do). Collective.
solvers::CgResult binned_map(const PixelSystem& system, const SampleSignal& tod,
                             const Vector& owned_map);

/// y = P^T N^-1 P x over the unmasked pixels (masked entries of x ignored, of y zero).
/// `tod_workspace` has one entry per local sample. Collective.
void apply_pixel_matrix(const PixelSystem& system, const Vector& x, const Vector& y,
                        const Vector& tod_workspace);

/// Global dot product of two owned pixel vectors, masked pixels skipped. Collective.
double masked_dot(const PixelSystem& system, const Vector& a, const Vector& b);

}  // namespace tod2map::mapmaker
