// Stockholm alignments (jackhmmer/hmmsearch output) read into an Msa with AlphaFold's parse_stockholm
// semantics.
//
// The file must start with a "# STOCKHOLM 1.0" line; other '#' lines (#=GS, #=GF, #=GC, #=GR) are skipped
// and "//" ends the alignment. Each other line is "<name> <aligned residues>"; a sequence may be split over
// several blocks (joined by name, rows kept in first-seen order). The first sequence is the query: columns
// where it has a gap ('-' or '.') are dropped, and the residues other rows have there are counted as
// deletions before the next kept column (and kept in Msa::insertions). Rows come out uppercase with '.'
// as '-'; descriptions are the sequence names. Errors (InputError naming file and line): no header, a
// malformed line, an invalid character, rows of different lengths, no sequences, a query of only gaps.
#pragma once

#include <filesystem>
#include <string>

#include "data/msa.hpp"
#include "data/text_input.hpp"

namespace kfold::data {

Msa parse_stockholm(LineReader& reader);
Msa read_stockholm(const std::filesystem::path& path);
// Parses in-memory Stockholm text; `source_name` stands in for the file name in messages.
Msa parse_stockholm_string(std::string text, std::string source_name);

}  // namespace kfold::data
