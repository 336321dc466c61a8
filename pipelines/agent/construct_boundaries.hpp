// Construct-boundary proposals from the predicted wild type, as a structural biologist reads pLDDT and
// PAE before cloning:
//   trim_termini   cut disordered termini: the construct starts at the first residue of the first run of
//                  5 residues with pLDDT >= 50 and ends at the last residue of the last such run (frozen
//                  residues are kept, a frozen initiator Met excepted); proposed when it removes >= 3
//                  residues, with the N- and C-terminal trims alone as well when both ends are trimmed.
//   domain_split   split the ordered core where the predicted aligned error says two parts move
//                  independently: the split maximising (mean PAE between the parts) - (mean PAE within
//                  them), accepted when the between-part mean is >= 15 Å and exceeds each part's own mean
//                  by >= 5 Å, each part >= 30 residues, never between two residues of a predicted α-helix
//                  (helix_from_ca); applied again inside each part (at most 4 domains).
//                  Proposed when every final domain has a mean PAE <= 10 Å within itself. Each domain is a
//                  construct, its disordered linker ends (pLDDT < 50) trimmed, the outer ends out to frozen
//                  residues as the trims'. Listed before the trims (a split is useful with all its domains,
//                  and the plate takes the first plate.constructs proposals).
// Constructs are wild-type fragments (no substitutions): plate.csv gives them their own wells
// (plate.constructs), and constructs.tsv and the report list them with the evidence.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "pipelines/agent/campaign.hpp"
#include "pipelines/agent/structure_oracle.hpp"

namespace kfold::pipelines::agent {

struct ConstructOptions {
  double disordered_plddt = 50.0;  // AlphaFold's "very low" confidence: likely disordered
  int64_t ordered_run = 5;         // an ordered stretch starts with this many residues >= disordered_plddt
  int64_t min_trim = 3;            // fewer residues removed is not worth a construct
  int64_t min_domain = 30;         // residues
  double split_pae = 15.0;         // Å, mean PAE between two parts, at least
  double domain_pae = 10.0;        // Å, mean PAE within each part, at most
  int64_t max_domains = 4;
};

struct Construct {
  std::string id;             // "C01", "C02", ... in proposal order
  std::string operator_name;  // "trim_termini" or "domain_split"
  int64_t first = 0;          // residue numbers of the target numbering, inclusive
  int64_t last = 0;
  std::vector<std::string> rationale;  // facts, one short phrase each
  double wild_type_plddt = 0.0;        // mean pLDDT of these residues in the full-length prediction
  // When predicted on its own (structure_budget): its mean pLDDT and pTM (NaN when not predicted / no pTM).
  double predicted_plddt = std::numeric_limits<double>::quiet_NaN();
  double predicted_ptm = std::numeric_limits<double>::quiet_NaN();
  // With the campaign's partner, constructs are predicted in complex with it: the mean PAE between the
  // construct and the partner (Å; NaN without a partner or a PAE head).
  double interface_pae = std::numeric_limits<double>::quiet_NaN();
  int64_t length() const { return last - first + 1; }
};

// "construct 13-76": how plate.csv, scores and reports name a construct.
std::string format_construct(const Construct& construct);
// The rationale facts joined with "; ".
std::string construct_rationale(const Construct& construct);
// The construct's sequence (a fragment of the target).
std::string construct_sequence(const Construct& construct, const Campaign& campaign);

// Throws RuntimeError when the prediction's pLDDT (or a non-empty PAE) does not match the target length.
std::vector<Construct> propose_constructs(const Campaign& campaign, const StructurePrediction& wild_type,
                                          const ConstructOptions& options = {});

}  // namespace kfold::pipelines::agent
