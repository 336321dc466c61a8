// Amino-acid property tables.
#include "pipelines/agent/residue_properties.hpp"

#include <array>

#include "data/error.hpp"

namespace kfold::pipelines::agent {

namespace {

struct Properties {
  char letter;
  double hydropathy;
};

constexpr std::array<Properties, 20> kTable = {{{'A', 1.8},  {'R', -4.5}, {'N', -3.5}, {'D', -3.5}, {'C', 2.5},
                                                {'Q', -3.5}, {'E', -3.5}, {'G', -0.4}, {'H', -3.2}, {'I', 4.5},
                                                {'L', 3.8},  {'K', -3.9}, {'M', 1.9},  {'F', 2.8},  {'P', -1.6},
                                                {'S', -0.8}, {'T', -0.7}, {'W', -0.9}, {'Y', -1.3}, {'V', 4.2}}};

const Properties& properties(char aa) {
  for (const Properties& p : kTable) {
    if (p.letter == aa) return p;
  }
  fail_runtime("'{}' is not one of the 20 standard amino acids", aa);
}

}  // namespace

double kyte_doolittle(char aa) { return properties(aa).hydropathy; }
int residue_charge(char aa) {
  properties(aa);  // checks the letter
  return (aa == 'K' || aa == 'R') ? 1 : (aa == 'D' || aa == 'E') ? -1 : 0;
}

int net_charge(std::string_view sequence) {
  int q = 0;
  for (const char aa : sequence) q += (aa == 'K' || aa == 'R') ? 1 : (aa == 'D' || aa == 'E') ? -1 : 0;
  return q;
}

}  // namespace kfold::pipelines::agent
