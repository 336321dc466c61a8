// A3M alignments (HHblits/ColabFold style) read into an Msa with AlphaFold's parse_a3m semantics,
// and written back.
//
// Reading: records are '>' header lines followed by residue lines (joined, whitespace removed). Uppercase
// letters and '-' are match columns; lowercase letters are insertions relative to the query: removed from
// the aligned row and counted into deletion_matrix (the number of lowercase letters just before each
// column); '.' is ignored (HHblits padding); a '*' (stop codon) may end a row. Blanks before '>' or '#' are read
// past (AlphaFold strips each line). Lines starting with '#' and blank lines are skipped, but for
// ColabFold's complex header "#L1,L2,...<TAB>1,1,..." as the first line (Msa::chain_lengths; copy numbers
// other than 1, a homo-oligomer, are read as one copy, with a warning). HH-suite's annotation records (ss_pred,
// ss_conf, ss_dssp, sa_dssp, Consensus) are left out with a warning. Beyond AlphaFold, errors (InputError naming file
// and line) for: no records, text before the first header, a query with insertions or no columns, a row whose
// match-column count differs from the query's, a '*' before a row's end, and any other character.
//
// Writing: one line per row, insertions as lowercase letters from Msa::insertions where that is consistent
// with the deletion matrix, otherwise one 'x' per counted deletion. Either way reading the output back gives
// the same sequences, deletion_matrix and descriptions.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "data/msa.hpp"
#include "data/text_input.hpp"

namespace kfold::data {

Msa parse_a3m(LineReader& reader);
Msa read_a3m(const std::filesystem::path& path);
// Parses in-memory A3M text; `source_name` stands in for the file name in messages.
Msa parse_a3m_string(std::string text, std::string source_name);

// ColabFold's complex header "#10,6\t1,1" (the chains' lengths, a tab, their copy numbers): the lengths of two
// or more chains; empty for a monomer's "#76\t1" and for a first line that is no such header ("#A3M#" of
// HH-suite, a comment: '#' and no digit). A '#' and a digit that do not make one (a length of 0, fewer copy
// numbers than lengths, "#40,36": no copy numbers) are an InputError naming `where`: read past, the complex was
// predicted as one chain. Spaces pass for the tab (an editor's). Copy numbers other than 1 (a homo-oligomer, whose
// columns hold one copy) are warned about and read as one copy.
std::vector<int64_t> colabfold_chain_lengths(std::string_view line, const std::string& where);

// True for a header of HH-suite's annotation records (hhblits -addss, reformat.pl, pdb70's A3Ms: ss_dssp,
// sa_dssp, ss_pred, ss_conf, Consensus, <name>_consensus by its first token), which HH-suite reads as
// annotation and never as sequences: the A3M reader leaves them out with a warning.
bool is_hhsuite_annotation(std::string_view description);

// A3M text for `msa`. Throws InputError when the Msa is empty or inconsistent (row lengths, deletion
// matrix shape, characters other than uppercase letters and '-', descriptions with line breaks).
std::string to_a3m(const Msa& msa);
// Writes to_a3m(msa) atomically (temporary file, then rename).
void write_a3m(const std::filesystem::path& path, const Msa& msa);

}  // namespace kfold::data
