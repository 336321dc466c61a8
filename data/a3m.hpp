// A3M alignments (HHblits/ColabFold style) read into an Msa with AlphaFold's parse_a3m semantics,
// and written back.
//
// Reading: records are '>' header lines followed by residue lines (joined, whitespace removed). Uppercase
// letters and '-' are match columns; lowercase letters are insertions relative to the query: removed from
// the aligned row and counted into deletion_matrix (the number of lowercase letters just before each
// column); '.' is ignored (HHblits padding). Lines starting with '#' (e.g. ColabFold's "#76\t1") and blank
// lines are skipped. Beyond AlphaFold, errors (InputError naming file and line) for: no records, text before
// the first header, a query with insertions or no columns, a row whose match-column count differs from the
// query's, and any other character.
//
// Writing: one line per row, insertions as lowercase letters from Msa::insertions where that is consistent
// with the deletion matrix, otherwise one 'x' per counted deletion. Either way reading the output back gives
// the same sequences, deletion_matrix and descriptions.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "data/msa.hpp"
#include "data/text_input.hpp"

namespace kfold::data {

Msa parse_a3m(LineReader& reader);
Msa read_a3m(const std::filesystem::path& path);
// Parses in-memory A3M text; `source_name` stands in for the file name in messages.
Msa parse_a3m_string(std::string text, std::string source_name);

// The chains of a ColabFold complex A3M, from its first line "#L1,L2,...<TAB>C1,C2,..." (lengths, copy numbers;
// colabfold_search and the MSA server write it, the query row being the chains joined): their lengths when
// there are two or more, else empty (a monomer's "#76\t1", no such line, or another format). Throws InputError
// for copy numbers other than 1 (homo-oligomers, whose rows ColabFold builds per copy: not read).
std::vector<int64_t> colabfold_chain_lengths(const std::filesystem::path& path);

// A3M text for `msa`. Throws InputError when the Msa is empty or inconsistent (row lengths, deletion
// matrix shape, characters other than uppercase letters and '-', descriptions with line breaks).
std::string to_a3m(const Msa& msa);
// Writes to_a3m(msa) atomically (temporary file, then rename).
void write_a3m(const std::filesystem::path& path, const Msa& msa);

}  // namespace kfold::data
