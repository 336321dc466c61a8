// Header lines (FASTA, A3M) that every reader splits into the same lines: a database's headers pass into
// kfold's outputs, and AlphaFold's and ColabFold's parsers split lines with Python's str.splitlines(),
// which also breaks at \v, \f, \x1c-\x1e, U+0085, U+2028 and U+2029, and read files as UTF-8.
#pragma once

#include <string>
#include <string_view>

namespace kfold::data {

// `text` with every control character (C0 but tab, DEL, C1) and Unicode line or paragraph separator
// replaced by `replacement`; bytes that are no part of valid UTF-8 stay (a Latin-1 header of the user's MSA
// is written back as it was read).
std::string portable_header_text(std::string_view text, char replacement = ' ');

// `text` with every byte that is no part of valid UTF-8 replaced by '?': a database's headers in kfold's
// search outputs, which Python readers open as UTF-8 (a Latin-1 byte made the whole A3M unreadable).
std::string valid_utf8_text(std::string_view text);

// `text` with every byte that is no part of valid UTF-8 written as \xNN (Python's "backslashreplace"): kfold's
// log lines and error messages, which name ids and paths byte for byte (a Latin-1 id made a log unreadable as
// UTF-8); valid text is returned unchanged.
std::string escaped_utf8_text(std::string_view text);

// `text` with every character that is not ASCII (a valid UTF-8 sequence or a byte of none) replaced by '?':
// the PDB format's header records, which are ASCII and cut at fixed columns (a cut inside a UTF-8 character made
// the file unreadable as UTF-8). ASCII control characters stay.
std::string ascii_text(std::string_view text);

}  // namespace kfold::data
