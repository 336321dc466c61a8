// Amino-acid property tables.
#include "pipelines/agent/residue_properties.hpp"

#include <array>

#include "data/error.hpp"

namespace kfold::pipelines::agent {

namespace {

struct Properties {
  char letter;
  double hydropathy;
  double volume;
};

constexpr std::array<Properties, 20> kTable = {{{'A', 1.8, 88.6},   {'R', -4.5, 173.4}, {'N', -3.5, 114.1},
                                                {'D', -3.5, 111.1}, {'C', 2.5, 108.5},  {'Q', -3.5, 143.8},
                                                {'E', -3.5, 138.4}, {'G', -0.4, 60.1},  {'H', -3.2, 153.2},
                                                {'I', 4.5, 166.7},  {'L', 3.8, 166.7},  {'K', -3.9, 168.6},
                                                {'M', 1.9, 162.9},  {'F', 2.8, 189.9},  {'P', -1.6, 112.7},
                                                {'S', -0.8, 89.0},  {'T', -0.7, 116.1}, {'W', -0.9, 227.8},
                                                {'Y', -1.3, 193.6}, {'V', 4.2, 140.0}}};

const Properties& properties(char aa) {
  for (const Properties& p : kTable) {
    if (p.letter == aa) return p;
  }
  fail_runtime("'{}' is not one of the 20 standard amino acids", aa);
}

}  // namespace

double kyte_doolittle(char aa) { return properties(aa).hydropathy; }
double residue_volume(char aa) { return properties(aa).volume; }
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
