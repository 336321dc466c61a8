// Mixed precision (RunOptions::dtype = bfloat16): the trunk in bfloat16, the structure module and the
// heads in float32, against the same model in float32 (tests/fixtures/alphafold_model, ptm_recycle:
// model_1_ptm at a small config with random perturbed weights, n_res 40).
// Tolerances (stated and measured in model_case.hpp, check_bfloat16_near_float32, which the CUDA suite
// runs too): trunk outputs within 3 % relative RMS, pLDDT within 1, mean |PAE difference| <= 0.5 A,
// pTM within 0.01, C-alpha RMSD <= 2.5 A.
#include <ATen/ATen.h>
#include <doctest/doctest.h>

#include "model_case.hpp"

TEST_CASE("bfloat16 trunk stays near the float32 model, structure and heads stay float32") {
  kfold::test::check_bfloat16_near_float32(c10::Device(c10::kCPU));
}
