// Interface terms of complex predictions (a target chain and the campaign's partner) on hand-built
// predictions with known answers.
#include <doctest/doctest.h>

#include <cmath>

#include "pipelines/agent/binding_terms.hpp"
#include "pipelines/agent/variant.hpp"

using namespace kfold::pipelines::agent;

namespace {

// Target residues 0-2 on the x axis, partner residues 3-4 at y = `distance` above residues 1 and 2;
// PAE 2 Å within chains and `cross_pae` between them.
StructurePrediction complex_of(double distance, double cross_pae) {
  StructurePrediction p;
  p.ca = {{0, 0, 0}, {3.8, 0, 0}, {7.6, 0, 0}, {3.8, distance, 0}, {7.6, distance, 0}};
  p.plddt = {90, 80, 70, 60, 50};
  p.chain_break = 3;
  for (int i = 0; i < 5; ++i)
    for (int j = 0; j < 5; ++j) p.pae.push_back((i < 3) == (j < 3) ? 2.0 : cross_pae);
  p.ptm = 0.6;
  return p;
}

}  // namespace

TEST_CASE("binding terms: the target chain of a complex, interface PAE and contacts") {
  const StructurePrediction wt = complex_of(6.0, 8.0);
  const StructurePrediction target = target_chain(wt);
  CHECK(target.plddt == std::vector<double>{90, 80, 70});
  CHECK(target.ca.size() == 3u);
  CHECK(target.pae == std::vector<double>(9, 2.0));
  CHECK(target.chain_break == 0);
  CHECK(target_chain(target).plddt == target.plddt);  // a single chain stays as it is
  // The complex's pTM is not the chain's; its violation count (of both chains) is kept.
  CHECK(std::isnan(target.ptm));
  StructurePrediction violating = wt;
  violating.violating_residues = 3;
  CHECK(target_chain(violating).violating_residues == 3);

  const InterfaceTerms t = interface_terms(wt);
  CHECK(t.pae == doctest::Approx(8.0));
  // Cβ (= Cα here) pairs across chains within 8 Å: (1,3) 6.0, (1,4) 7.1, (2,3) 7.1, (2,4) 6.0,
  // (0,3) 7.1; (0,4) is 9.6 Å.
  CHECK(t.contacts == 5);
  CHECK_THROWS(interface_terms(target));

  // The mutant moves the partner away (contacts lost) and the model grows less sure of the placement.
  const StructurePrediction mutant = complex_of(12.0, 14.0);
  StructureTerms terms;
  add_interface_terms(terms, wt, mutant);
  CHECK(terms.binding);
  CHECK(terms.delta_interface_pae == doctest::Approx(6.0));
  CHECK(terms.lost_interface_contacts == 5);
  StructureTerms same;
  add_interface_terms(same, wt, wt);
  CHECK(same.delta_interface_pae == 0.0);
  CHECK(same.lost_interface_contacts == 0);
  // The partner pushed into the target (Cα pairs (1,3) and (2,4) 2 Å apart): two clashes across the interface,
  // which the target chain cut out of the complex cannot show, join the chain's own count.
  StructureTerms clashing;
  clashing.new_clashes = 1;
  add_interface_terms(clashing, wt, complex_of(2.0, 8.0));
  CHECK(clashing.new_clashes == 1 + 2);
  CHECK(same.new_clashes == 0);
  // Without a PAE head: the PAE term is NaN, the contacts still count.
  StructurePrediction no_pae = wt;
  no_pae.pae.clear();
  CHECK(std::isnan(interface_terms(no_pae).pae));
  CHECK(interface_terms(no_pae).contacts == 5);
}

TEST_CASE("binding terms: a partner identical to the target is a copy and carries the variant") {
  // A homodimer campaign (partner sequence = target sequence): the partner was always predicted as the
  // wild type, so a variant's complex was a heterodimer of mutant and wild type.
  const std::string wt = "MQIFVK";
  const std::string variant = apply_variant(parse_variant("Q2A:K6R", "t"), wt, 1);
  CHECK(partner_is_target_copy(wt, wt));
  CHECK(partner_chain_sequence(wt, wt, variant) == "MAIFVR");
  CHECK(partner_chain_sequence(wt, wt, wt) == wt);          // the wild type's complex: unchanged
  CHECK(partner_chain_sequence(wt, wt, "IFVK") == "IFVK");  // a construct: both copies are the fragment
  // Another partner (a peptide, or a different protein) stays as given.
  CHECK_FALSE(partner_is_target_copy("MKTAY", wt));
  CHECK(partner_chain_sequence("MKTAY", wt, variant) == "MKTAY");
  CHECK_FALSE(partner_is_target_copy("", ""));
}
