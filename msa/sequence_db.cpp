// Packing FASTA into the kfold-db directory format, and opening it (mmap) or a FASTA file (memory).
#include "msa/sequence_db.hpp"

#include <nlohmann/json.hpp>

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <optional>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "data/atomic_output.hpp"
#include "data/error.hpp"
#include "data/fasta.hpp"
#include "data/interrupt.hpp"
#include "data/json_error.hpp"
#include "data/log.hpp"
#include "data/process_owner.hpp"
#include "data/progress.hpp"
#include "data/sequence.hpp"
#include "data/text_input.hpp"
#include "msa/db_folder.hpp"
#include "msa/mapped_file.hpp"

namespace kfold::msa {
namespace fs = std::filesystem;

namespace {

constexpr const char* kManifest = kDbManifestFile;
constexpr const char* kResidues = "residues.bin";
constexpr const char* kOffsets = "offsets.bin";
constexpr const char* kHeaders = "headers.txt";
constexpr const char* kHeaderOffsets = "header_offsets.bin";

std::string header_line(const data::Sequence& seq) {
  return seq.description.empty() ? seq.id : seq.id + " " + seq.description;
}

// Removes the folders from `inner` up to `outer` (those a run made for its output) while they are empty,
// unless released.
class MadeFoldersGuard {
 public:
  MadeFoldersGuard(fs::path inner, fs::path outer) : inner_(std::move(inner)), outer_(std::move(outer)) {}
  ~MadeFoldersGuard() {
    std::error_code ec;
    for (fs::path folder = inner_; !outer_.empty() && !folder.empty(); folder = folder.parent_path()) {
      if (!fs::remove(folder, ec) || folder == outer_) break;  // not empty: a folder others write to
    }
  }
  void release() { outer_.clear(); }

 private:
  fs::path inner_, outer_;
};

// Offsets (`path`) must start at 0, never decrease and end at `end`, the size of `data_path`.
void check_offsets(const MappedFile& map, int64_t n, int64_t end, const fs::path& path, const fs::path& data_path) {
  constexpr auto kWord = static_cast<int64_t>(sizeof(int64_t));
  if (map.size() % kWord != 0 || map.size() / kWord - 1 != n)  // (no (n + 1) * 8: n comes from the manifest)
    fail_input("{}: size {} bytes does not match {} sequences; the database is damaged, create it again", path.string(),
               map.size(), n);
  const auto* offsets = reinterpret_cast<const int64_t*>(map.bytes().data());
  if (offsets[0] != 0)
    fail_input("{}: the first offset is {}, not 0; the database is damaged, create it again", path.string(),
               offsets[0]);
  if (offsets[n] != end)
    fail_input("{}: the offsets end at {} but the data file {} has {} bytes; the database is damaged, create it again",
               path.string(), offsets[n], data_path.string(), end);
  for (int64_t i = 0; i < n; ++i)
    if (offsets[i + 1] <= offsets[i])
      fail_input("{}: offset {} is not increasing; the database is damaged, create it again", path.string(), i + 1);
}

// Records whose ids the duplicate check hashes (8 bytes each: 400 MB at most; UniRef100 and BFD have more
// records, and their ids are unique by construction).
constexpr int64_t kMaxIdHashes = 50'000'000;

// Warns when ids repeat: hits.m8 and the A3M headers name a hit by its id, so two records with one id
// cannot be told apart there. Not an error (MMseqs2's createdb keeps them too). `id_hashes` holds one
// hash per record (8 bytes each); the headers are read again, by for_each_header(visit) calling
// visit(line) for each record's header line in order, only when two hashes are equal.
template <typename ForEachHeader>
void warn_duplicate_ids(const fs::path& fasta, std::vector<uint64_t> id_hashes, ForEachHeader for_each_header) {
  std::sort(id_hashes.begin(), id_hashes.end());
  std::unordered_set<uint64_t> repeated;
  for (size_t i = 1; i < id_hashes.size(); ++i)
    if (id_hashes[i] == id_hashes[i - 1]) repeated.insert(id_hashes[i]);
  id_hashes = {};
  if (repeated.empty()) return;
  std::unordered_map<std::string, int64_t> first_record;  // only ids whose hash repeats
  int64_t duplicates = 0;
  std::string example;
  int64_t example_first = 0;
  int64_t example_record = 0;
  int64_t record = 0;
  for_each_header([&](std::string_view line) {
    ++record;
    const std::string_view id = line.substr(0, line.find(' '));
    if (repeated.count(std::hash<std::string_view>{}(id)) == 0) return;
    const auto [it, inserted] = first_record.emplace(id, record);
    if (inserted || duplicates++ > 0) return;
    example = id;
    example_first = it->second;
    example_record = record;
  });
  if (duplicates > 0)
    log_warn(
        "{}: {} record(s) repeat the id of an earlier record, e.g. '{}' (records {} and {}); hits.m8 and the "
        "A3M headers cannot tell such hits apart: give every record a unique id",
        fasta.string(), duplicates, example, example_first, example_record);
}

// Says once how many '*' inside database sequences were read as X (and where the first was).
// What a database's reader read leniently (see FastaReader's database mode).
void warn_lenient_reads(const data::FastaReader& reader) {
  if (reader.internal_stops() > 0)
    log_warn("{}: {} '*' (stop codons) inside sequences read as X (unknown), the first at {}", reader.source(),
             reader.internal_stops(), reader.first_internal_stop());
  if (reader.empty_records() > 0)
    log_warn("{}: {} records without residues skipped, the first at {}", reader.source(), reader.empty_records(),
             reader.first_empty_record());
}

// A database FASTA without a sequence to search: none at all, or only records without residues (skipped).
[[noreturn]] void fail_no_sequences(const data::FastaReader& reader, std::string_view what) {
  if (reader.empty_records() == 0) fail_input("{}: no sequences{}", reader.source(), what);
  fail_input(
      "{}: no sequences: its {} record{} no residues (the first at {}); a database needs records with residues "
      "(the lines after each '>' header)",
      reader.source(), reader.empty_records(), reader.empty_records() == 1 ? " has" : "s have",
      reader.first_empty_record());
}

// The integer `key` of a database manifest, -1 when absent; InputError naming it when it is something else.
int64_t manifest_integer(const nlohmann::json& manifest, const char* key, const fs::path& file) {
  const auto it = manifest.find(key);
  if (it == manifest.end()) return -1;
  if (!it->is_number_integer())
    fail_input("{}: \"{}\" must be an integer, not {}; the database is damaged, create it again", file.string(), key,
               it->type_name());
  return it->get<int64_t>();
}

}  // namespace

struct SequenceDb::Storage {
  MappedFile residues_map, offsets_map, headers_map, header_offsets_map;
  std::vector<char> residues, headers;
  std::vector<int64_t> offsets, header_offsets;
};

SequenceDb::SequenceDb() : storage_(std::make_unique<Storage>()) {}
SequenceDb::SequenceDb(SequenceDb&&) noexcept = default;
SequenceDb& SequenceDb::operator=(SequenceDb&&) noexcept = default;
SequenceDb::~SequenceDb() = default;

std::string_view SequenceDb::id(int64_t i) const {
  const std::string_view h = header(i);
  const size_t space = h.find(' ');
  return space == std::string_view::npos ? h : h.substr(0, space);
}

void SequenceDb::finish_open() {
  max_length_ = 0;
  for (int64_t i = 0; i < n_seq_; ++i) max_length_ = std::max(max_length_, offsets_[i + 1] - offsets_[i]);
  // A nucleotide database gives no hits and no error: the first million residues tell.
  const int64_t sample = std::min<int64_t>(n_residues_, 1000000);
  int64_t nucleotide = 0;
  for (int64_t k = 0; k < sample; ++k) {
    const char c = residues_[k];
    nucleotide += c == 'A' || c == 'C' || c == 'G' || c == 'T' || c == 'U' || c == 'N';
  }
  if (sample >= 100 && nucleotide * 10 >= sample * 9)
    log_warn(
        "{}: looks like a nucleotide database ({} of its first {} residues are A, C, G, T, U or N); the search "
        "needs protein sequences and will find few or no hits",
        source_, nucleotide, sample);
}

SequenceDb SequenceDb::open(const fs::path& path) {
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (!fs::exists(status))
    fail_input("{}: database not found (expected a FASTA file or a directory made by 'kfold db create')",
               path.string());
  SequenceDb db;
  db.source_ = path.string();
  Storage& s = *db.storage_;
  if (fs::is_directory(status)) {
    const fs::path manifest_path = path / kManifest;
    if (!fs::exists(manifest_path))
      fail_input("{}: not a kfold database (no {}); create one with 'kfold db create DB.fasta {}'", path.string(),
                 kManifest, path.string());
    nlohmann::json manifest;
    try {
      manifest = nlohmann::json::parse(data::read_text_file(manifest_path));
    } catch (const nlohmann::json::exception& e) {
      fail_input("{}: invalid JSON ({}); create the database again", manifest_path.string(), data::json_error_text(e));
    }
    if (!manifest.is_object()) fail_input("{}: expected a JSON object", manifest_path.string());
    if (const auto format = manifest.find("format");
        format == manifest.end() || !format->is_string() || *format != "kfold-db")
      fail_input("{}: \"format\" is not \"kfold-db\"", manifest_path.string());
    const int64_t version = manifest_integer(manifest, "version", manifest_path);
    if (version != kDbFormatVersion)
      fail_input("{}: database format version {} is not supported (this kfold reads version {}); create it again",
                 manifest_path.string(), version, kDbFormatVersion);
    const int64_t n = manifest_integer(manifest, "sequences", manifest_path);
    const int64_t manifest_residues = manifest_integer(manifest, "residues", manifest_path);
    if (n <= 0) fail_input("{}: \"sequences\" must be a positive count", manifest_path.string());
    // A file of the folder missing or unreadable: the manifest says it was made, so the folder is damaged.
    const auto map_part = [&path](const char* name) {
      try {
        return MappedFile(path / name);
      } catch (const InputError& e) {
        if (const auto file = path / name; ::access(file.c_str(), F_OK) == 0 && ::access(file.c_str(), R_OK) != 0)
          fail_input("{}; ask the database's owner for read access (or use a copy of your own)", e.what());
        fail_input("{}; the database {} is damaged or incomplete: create it again with 'kfold db create'", e.what(),
                   path.string());
      }
    };
    s.residues_map = map_part(kResidues);
    s.offsets_map = map_part(kOffsets);
    s.headers_map = map_part(kHeaders);
    s.header_offsets_map = map_part(kHeaderOffsets);
    if (manifest_residues != s.residues_map.size())
      fail_input("{}: {} has {} bytes but the manifest says {} residues; the database is damaged, create it again",
                 path.string(), kResidues, s.residues_map.size(), manifest_residues);
    check_offsets(s.offsets_map, n, s.residues_map.size(), path / kOffsets, path / kResidues);
    check_offsets(s.header_offsets_map, n, s.headers_map.size(), path / kHeaderOffsets, path / kHeaders);
    if (const auto digest = manifest.find("residues_fnv1a64"); digest != manifest.end()) {
      if (!digest->is_string()) fail_input("{}: \"residues_fnv1a64\" must be a string", manifest_path.string());
      db.residues_digest_ = digest->get<std::string>();
    }
    db.mapped_ = true;
    db.n_seq_ = n;
    db.n_residues_ = s.residues_map.size();
    db.residues_ = reinterpret_cast<const char*>(s.residues_map.bytes().data());
    db.offsets_ = reinterpret_cast<const int64_t*>(s.offsets_map.bytes().data());
    db.headers_ = reinterpret_cast<const char*>(s.headers_map.bytes().data());
    db.header_offsets_ = reinterpret_cast<const int64_t*>(s.header_offsets_map.bytes().data());
  } else {
    data::FastaReader reader(path);
    reader.read_as_database();
    data::Sequence seq;
    s.offsets.push_back(0);
    s.header_offsets.push_back(0);
    std::vector<uint64_t> id_hashes;  // as create_db: the same duplicate-id warning when searched directly
    while (reader.next(seq)) {
      if (s.offsets.size() % 10000 == 0) check_interrupt();
      if (static_cast<int64_t>(id_hashes.size()) < kMaxIdHashes)
        id_hashes.push_back(std::hash<std::string_view>{}(seq.id));
      s.residues.insert(s.residues.end(), seq.residues.begin(), seq.residues.end());
      s.offsets.push_back(static_cast<int64_t>(s.residues.size()));
      const std::string h = header_line(seq);
      s.headers.insert(s.headers.end(), h.begin(), h.end());
      s.headers.push_back('\n');
      s.header_offsets.push_back(static_cast<int64_t>(s.headers.size()));
    }
    if (s.offsets.size() == 1) fail_no_sequences(reader, " in the database");
    warn_duplicate_ids(path, std::move(id_hashes), [&s](const auto& visit) {
      const std::string_view all(s.headers.data(), s.headers.size());
      for (size_t start = 0; start < all.size();) {
        const size_t end = all.find('\n', start);
        visit(all.substr(start, end - start));
        start = end + 1;
      }
    });
    warn_lenient_reads(reader);
    db.n_seq_ = static_cast<int64_t>(s.offsets.size()) - 1;
    db.n_residues_ = static_cast<int64_t>(s.residues.size());
    db.residues_ = s.residues.data();
    db.offsets_ = s.offsets.data();
    db.headers_ = s.headers.data();
    db.header_offsets_ = s.header_offsets.data();
  }
  db.finish_open();
  return db;
}

void check_residue_bytes(const SequenceDb& db, int64_t i, int64_t first, int64_t last) {
  const std::string_view residues = db.residues(i);
  for (int64_t j = first; j <= last; ++j) {
    const char c = residues[static_cast<size_t>(j)];
    if (!data::is_ascii_letter(c))
      fail_input(
          "{}: sequence '{}' holds the byte 0x{:02x} at residue {}, which is no amino acid: the database is "
          "damaged; create it again with 'kfold db create'",
          db.source(), db.id(i), static_cast<unsigned char>(c), j + 1);
  }
}

void check_residue_bytes(const SequenceDb& db, int64_t begin, int64_t end) {
  for (int64_t i = begin; i < end; ++i) {
    const std::string_view residues = db.residues(i);
    // (the loop that finds no damage vectorises; the named check runs only where there is some)
    const bool letters = std::all_of(residues.begin(), residues.end(), data::is_ascii_letter);
    if (!letters) check_residue_bytes(db, i, 0, static_cast<int64_t>(residues.size()) - 1);
  }
}

DbStats create_db(const fs::path& fasta, const fs::path& db_dir_argument) {
  data::check_input_file(fasta);
  // "dbs/uniref/" names the folder "dbs/uniref".
  const fs::path db_dir = db_dir_argument.has_filename() ? db_dir_argument : db_dir_argument.parent_path();
  if (db_dir.empty() || db_dir.filename() == "." || db_dir.filename() == "..")
    fail_input("DB_DIR '{}' names no new folder: give the database folder's name, e.g. dbs/uniref",
               db_dir_argument.string());
  // The folder is built as "<name>.tmp.<pid>": that name must fit the file system's 255 bytes too.
  constexpr size_t kLongestName = 255 - std::char_traits<char>::length(".tmp.4294967295");
  if (const size_t length = db_dir.filename().string().size(); length > kLongestName)
    fail_input(
        "{}: the database folder's name is {} bytes long; kfold allows {} (it builds the folder under "
        "'<name>.tmp.<pid>' first, and file systems allow 255); choose a shorter name",
        db_dir.string(), length, kLongestName);
  std::error_code ec;
  if (fs::exists(db_dir, ec))
    fail_input("{}: already exists; remove it or choose another name for the database", db_dir.string());
  // Missing parent folders are made, as -o makes its folder (the help's `kfold db create x.fasta dbs/x` in a
  // fresh folder failed).
  const fs::path parent = db_dir.has_parent_path() ? db_dir.parent_path() : fs::path(".");
  fs::path outermost_made;  // removed again, while empty, by a run that fails
  for (fs::path folder = parent; !folder.empty() && !fs::exists(folder, ec); folder = folder.parent_path())
    outermost_made = folder;
  MadeFoldersGuard made_folders(parent, outermost_made);
  if (!fs::is_directory(parent, ec)) {
    if (fs::exists(parent, ec))
      fail_input("{}: is a file, not a directory; the database folder must be made inside a directory",
                 parent.string());
    fs::create_directories(parent, ec);
    if (ec && data::is_storage_failure(ec.value()))
      fail_runtime("{}: cannot create the folder ({})", parent.string(), ec.message());
    if (ec)
      fail_input("{}: cannot create the folder ({}); check the path and its permissions", parent.string(),
                 ec.message());
  }
  remove_abandoned_temp_dirs(db_dir, "kfold db create");
  fs::path tmp = db_dir;
  tmp += fmt::format(".tmp.{}", ::getpid());  // its own folder: two runs for one name never share one
  if (!fs::create_directory(tmp, ec)) {
    if (data::is_storage_failure(ec.value()))
      fail_runtime("{}: cannot create the database's build folder {} ({})", db_dir.string(), tmp.string(),
                   ec.message());
    fail_input(
        "{}: cannot create the database's build folder {} ({}); check the permissions of {} or choose another "
        "place",
        db_dir.string(), tmp.string(), ec.message(), parent.string());
  }
  DirectoryGuard guard(tmp);
  data::write_file_atomic(tmp / kBuildOwnerFile, data::owner_line(data::this_process()) + "\n");

  BinaryWriter residues(tmp / kResidues);
  BinaryWriter offsets(tmp / kOffsets);
  BinaryWriter headers(tmp / kHeaders);
  BinaryWriter header_offsets(tmp / kHeaderOffsets);
  DbStats stats;
  int64_t header_bytes = 0;
  std::vector<uint64_t> id_hashes;
  offsets.write_i64(0);
  header_offsets.write_i64(0);
  data::FastaReader reader(fasta);
  reader.read_as_database();
  data::Sequence seq;
  Progress progress("db create", 0);
  uint64_t digest = 0xcbf29ce484222325ULL;  // FNV-1a 64 of the residues, a '\n' after each sequence
  const auto add_to_digest = [&digest](std::string_view bytes) {
    for (const char c : bytes) digest = (digest ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
  };
  while (reader.next(seq)) {
    residues.write(seq.residues.data(), seq.residues.size());
    add_to_digest(seq.residues);
    add_to_digest("\n");
    stats.residues += static_cast<int64_t>(seq.residues.size());
    stats.max_length = std::max(stats.max_length, static_cast<int64_t>(seq.residues.size()));
    offsets.write_i64(stats.residues);
    const std::string h = header_line(seq) + "\n";
    headers.write(h.data(), h.size());
    header_bytes += static_cast<int64_t>(h.size());
    header_offsets.write_i64(header_bytes);
    if (stats.sequences < kMaxIdHashes) {
      id_hashes.push_back(std::hash<std::string_view>{}(seq.id));
    } else if (stats.sequences == kMaxIdHashes) {
      log_info("{}: more than {} records: the duplicate-id check stops here (it would need 8 bytes per record)",
               fasta.string(), kMaxIdHashes);
    }
    ++stats.sequences;
    if (stats.sequences % 10000 == 0) {
      progress.advance(10000);
      check_interrupt();  // the directory guard removes the partial database
    }
  }
  progress.advance(stats.sequences % 10000);
  progress.finish();
  check_interrupt();  // a signal while the last records were read (a pipe that waited): no database
  if (stats.sequences == 0) fail_no_sequences(reader, "; a database needs at least one FASTA record with residues");
  residues.close();
  offsets.close();
  headers.close();
  header_offsets.close();
  warn_duplicate_ids(fasta, std::move(id_hashes), [&tmp](const auto& visit) {
    data::LineReader lines(tmp / kHeaders);
    std::string_view line;
    while (lines.next(line)) visit(line);
  });
  warn_lenient_reads(reader);

  const nlohmann::json manifest = {{"format", "kfold-db"},
                                   {"version", kDbFormatVersion},
                                   {"sequences", stats.sequences},
                                   {"residues", stats.residues},
                                   {"max_length", stats.max_length},
                                   {"byte_order", "little"},
                                   {"source", fs::absolute(fasta).string()},
                                   {"residues_fnv1a64", fmt::format("{:016x}", digest)}};
  data::write_file_atomic(tmp / kManifest, manifest.dump(2) + "\n");
  if (fs::exists(db_dir, ec))  // another run for this name finished first (rename would replace an empty folder)
    fail_input("{}: was created by another run meanwhile; this run's copy is removed", db_dir.string());
  fs::rename(tmp, db_dir, ec);  // the owner file goes after: a temporary folder without one is not kfold's
  if (ec) fail_runtime("cannot rename {} to {}: {}", tmp.string(), db_dir.string(), ec.message());
  guard.release();
  fs::remove(db_dir / kBuildOwnerFile, ec);
  made_folders.release();
  return stats;
}

}  // namespace kfold::msa
