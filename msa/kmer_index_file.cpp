// Storing a k-mer index in a database folder and mapping it back (msa/kmer_index_file.hpp).
#include "msa/kmer_index_file.hpp"

#include <fmt/format.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <bit>
#include <memory>
#include <string>
#include <string_view>

#include "data/atomic_output.hpp"
#include "data/error.hpp"
#include "data/interrupt.hpp"
#include "data/json_error.hpp"
#include "data/log.hpp"
#include "data/process_owner.hpp"
#include "data/progress.hpp"
#include "data/text_input.hpp"
#include "msa/alphabet.hpp"
#include "msa/db_folder.hpp"
#include "msa/kmer_index.hpp"
#include "msa/mapped_file.hpp"

namespace kfold::msa {
namespace fs = std::filesystem;

static_assert(std::endian::native == std::endian::little, "the stored k-mer index is little-endian");
static_assert(sizeof(KmerIndex::Entry) == 8);

namespace {

constexpr int64_t kMagic = 0x5849524d4b4d464b;  // "KFMKMRIX" as little-endian bytes
constexpr int64_t kFileVersion = 1;
constexpr int64_t kHeaderWords = 8;
constexpr const char* kManifest = "index.json";
constexpr const char* kFormat = "kfold-kmer-index";

std::string chunk_file_name(size_t c) { return fmt::format("chunk_{}.kmi", c); }

[[noreturn]] void damaged(const fs::path& file, std::string_view why) {
  fail_input(
      "{}: {}: not the stored k-mer index of this database, or damaged; run 'kfold db index' on the database "
      "again",
      file.string(), why);
}

}  // namespace

void KmerIndex::write(const fs::path& file) const {
  const int64_t n = end_ - begin_;
  const int64_t n_codes = code_offsets_view_[n];
  const int64_t header[kHeaderWords] = {kMagic,     kFileVersion, begin_,     end_,
                                        n_entries_, n_codes,      kSeedWords, kSeedWeight};
  BinaryWriter out(file);
  out.write(header, sizeof header);
  out.write(starts_view_, sizeof(int64_t) * static_cast<size_t>(kSeedWords + 1));
  out.write(code_offsets_view_, sizeof(int64_t) * static_cast<size_t>(n + 1));
  out.write(entries_view_, sizeof(Entry) * static_cast<size_t>(n_entries_));
  out.write(codes_view_, static_cast<size_t>(n_codes));
  out.close();
}

// Checks the sizes, the word starts, the sequence lengths against the database (a truncated file, another
// database's) and the residue codes' range, not each entry (512 MiB a chunk): the scan bounds an entry's
// target by its block and the extension clamps its position, so a damaged entry costs hits, never memory.
std::unique_ptr<KmerIndex> KmerIndex::map_file(const fs::path& file, const SequenceDb& db, int64_t begin, int64_t end) {
  auto map = std::make_shared<const MappedFile>(file);
  const int64_t size = map->size();
  const int64_t n = end - begin;
  if (size < kHeaderWords * 8) damaged(file, fmt::format("{} bytes, shorter than the header", size));
  const auto* header = reinterpret_cast<const int64_t*>(map->bytes().data());
  if (header[0] != kMagic) damaged(file, "no k-mer index header");
  if (header[1] != kFileVersion)
    damaged(file, fmt::format("format version {} (this kfold reads version {})", header[1], kFileVersion));
  if (header[6] != kSeedWords || header[7] != kSeedWeight) damaged(file, "another seed word alphabet or length");
  if (header[2] != begin || header[3] != end)
    damaged(file, fmt::format("holds sequences {} to {}, not {} to {}", header[2], header[3] - 1, begin, end - 1));
  const int64_t n_entries = header[4], n_codes = header[5];
  // Each size bounded by the file's first, so that the sum cannot overflow.
  const int64_t fixed = 8 * (kHeaderWords + kSeedWords + 1 + n + 1);
  if (n_entries < 0 || n_codes < 0 || n_entries > n_codes || n_codes > size || fixed > size ||
      fixed + 8 * n_entries + n_codes != size)
    damaged(file,
            fmt::format("{} bytes, where its header asks for {} entries and {} residues", size, n_entries, n_codes));
  const int64_t* starts = header + kHeaderWords;
  const int64_t* offsets = starts + kSeedWords + 1;
  const auto* entries = reinterpret_cast<const Entry*>(offsets + n + 1);
  const auto* codes = reinterpret_cast<const uint8_t*>(entries + n_entries);
  if (starts[0] != 0 || starts[kSeedWords] != n_entries) damaged(file, "its word starts do not cover its entries");
  for (int64_t w = 0; w < kSeedWords; ++w)
    if (starts[w + 1] < starts[w]) damaged(file, fmt::format("the start of word {} decreases", w + 1));
  if (offsets[0] != 0 || offsets[n] != n_codes) damaged(file, "its sequence offsets do not cover its residues");
  for (int64_t i = 0; i < n; ++i) {
    const auto length = static_cast<int64_t>(db.residues(begin + i).size());
    if (offsets[i + 1] - offsets[i] != length)
      damaged(file, fmt::format("sequence {} ('{}') has {} residues in the database and {} here", begin + i,
                                db.id(begin + i), length, offsets[i + 1] - offsets[i]));
  }
  uint8_t highest = 0;
  for (int64_t k = 0; k < n_codes; ++k) highest = std::max(highest, codes[k]);  // (vectorised: ~5 ms a chunk)
  if (n_codes > 0 && highest >= kAlphabetSize)
    damaged(file, fmt::format("a residue code {} (codes are below {})", highest, kAlphabetSize));
  auto index = std::unique_ptr<KmerIndex>(new KmerIndex());
  index->begin_ = begin;
  index->end_ = end;
  index->starts_view_ = starts;
  index->code_offsets_view_ = offsets;
  index->entries_view_ = entries;
  index->codes_view_ = codes;
  index->n_entries_ = n_entries;
  index->mapping_ = std::move(map);
  index->build_id_ = next_build_id();
  return index;
}

StoredIndexStats write_stored_index(const fs::path& db_dir, int threads, int64_t chunk_residues) {
  const SequenceDb db = SequenceDb::open(db_dir);
  if (!db.memory_mapped())
    fail_input(
        "{}: a FASTA file; the k-mer index is stored in a database folder: make one with 'kfold db create {} "
        "DB_DIR', then run 'kfold db index DB_DIR'",
        db_dir.string(), db_dir.string());
  const fs::path folder = db_dir / kStoredIndexFolder;
  std::error_code ec;
  if (const auto status = fs::symlink_status(folder, ec); fs::exists(status) && !fs::is_directory(status))
    fail_input("{}: exists and is no folder; remove it, then run 'kfold db index {}' again", folder.string(),
               db_dir.string());
  remove_abandoned_temp_dirs(folder, "kfold db index");
  remove_abandoned_temp_dirs(folder, "kfold db index", ".old");
  remove_stale_owner_file(db_dir);                        // (kfold db create's, killed just after the rename)
  remove_abandoned_temp_dirs(db_dir, "kfold db create");  // (its build folders: a later create stops at the name)
  fs::path tmp = folder;
  tmp += fmt::format(".tmp.{}", ::getpid());
  if (!fs::create_directory(tmp, ec)) {
    if (data::is_storage_failure(ec.value()))
      fail_runtime("{}: cannot create {} ({})", db_dir.string(), tmp.string(), ec.message());
    fail_input("{}: cannot create {} ({}); the database folder must be writable to store its index", db_dir.string(),
               tmp.string(), ec ? ec.message() : "it exists");
  }
  DirectoryGuard guard(tmp);
  data::write_file_atomic(tmp / kBuildOwnerFile, data::owner_line(data::this_process()) + "\n");
  const std::vector<int64_t> bounds = index_chunk_bounds(db, chunk_residues);
  StoredIndexStats stats;
  std::unique_ptr<KmerIndex> index;
  Progress progress("db index", static_cast<int64_t>(bounds.size()) - 1);
  for (size_t c = 0; c + 1 < bounds.size(); ++c) {
    // A byte that is no residue code is damage the index would read as X, and searches too, but for the hits
    // that cover it (those stop): refused here, where every residue is read anyway.
    check_residue_bytes(db, bounds[c], bounds[c + 1]);
    if (index)
      index->rebuild(db, bounds[c], bounds[c + 1], threads);
    else
      index = std::make_unique<KmerIndex>(db, bounds[c], bounds[c + 1], threads);
    const fs::path file = tmp / chunk_file_name(c);
    index->write(file);
    stats.chunks += 1;
    stats.entries += index->n_entries();
    stats.bytes += static_cast<int64_t>(fs::file_size(file));
    progress.advance();
    check_interrupt();  // the guard removes the partial index
  }
  progress.finish();
  const nlohmann::json manifest = {{"format", kFormat},
                                   {"version", kFileVersion},
                                   {"sequences", db.size()},
                                   {"residues", db.total_residues()},
                                   {"chunk_residues", chunk_residues},
                                   {"bounds", bounds},
                                   {"database_residues_fnv1a64", db.residues_digest()}};
  data::write_file_atomic(tmp / kManifest, manifest.dump(2) + "\n");
  // Replace an index stored before: moved aside, the new one renamed in, then the old removed (a search
  // that mapped the old files keeps reading them). The owner file goes last: a run killed before has left
  // folders the next run can tell abandoned.
  fs::path old;
  if (fs::exists(folder, ec)) {
    // Owned by this run while aside: a kill before it is removed leaves a folder the next run can tell abandoned.
    data::write_file_atomic(folder / kBuildOwnerFile, data::owner_line(data::this_process()) + "\n");
    old = folder;
    old += fmt::format(".old.{}", ::getpid());
    fs::rename(folder, old, ec);
    if (ec) fail_runtime("cannot move the old index {} aside: {}", folder.string(), ec.message());
  }
  fs::rename(tmp, folder, ec);
  if (ec) {
    std::error_code back;
    if (!old.empty()) fs::rename(old, folder, back);
    fail_runtime("cannot rename {} to {}: {}", tmp.string(), folder.string(), ec.message());
  }
  guard.release();
  if (!old.empty()) remove_owned_folder(old, ec);
  fs::remove(folder / kBuildOwnerFile, ec);
  return stats;
}

std::vector<fs::path> stored_index_files(const SequenceDb& db, const std::vector<int64_t>& bounds,
                                         int64_t chunk_residues) {
  if (!db.memory_mapped()) return {};
  const fs::path folder = fs::path(db.source()) / kStoredIndexFolder;
  const fs::path manifest_path = folder / kManifest;
  std::error_code ec;
  if (!fs::exists(manifest_path, ec)) return {};
  const auto unusable = [&](std::string_view why) {
    log_warn("{}: {}; the search builds its k-mer index in memory instead (run 'kfold db index {}' to store it again)",
             folder.string(), why, db.source());
    return std::vector<fs::path>{};
  };
  nlohmann::json manifest;
  try {
    manifest = nlohmann::json::parse(data::read_text_file(manifest_path));
  } catch (const nlohmann::json::exception& e) {
    return unusable(fmt::format("{} is not valid JSON ({})", kManifest, data::json_error_text(e)));
  } catch (const Error& e) {
    return unusable(e.what());
  }
  const auto field = [&](const char* key) {
    return manifest.is_object() ? manifest.value(key, nlohmann::json()) : nlohmann::json();
  };
  if (field("format") != kFormat) return unusable(fmt::format("{} is not a kfold k-mer index manifest", kManifest));
  if (field("version") != kFileVersion)
    return unusable(
        fmt::format("format version {} (this kfold reads version {})", field("version").dump(), kFileVersion));
  if (field("sequences") != db.size() || field("residues") != db.total_residues())
    return unusable(fmt::format("made for a database of {} sequences and {} residues, not this one's {} and {}",
                                field("sequences").dump(), field("residues").dump(), db.size(), db.total_residues()));
  // Another database of the same size (a copied index): its k-mers are not this one's (hits were missed).
  if (const std::string& digest = db.residues_digest(); !digest.empty() && field("database_residues_fnv1a64") != digest)
    return unusable(fmt::format("made for another database (residues digest {}, this one's \"{}\")",
                                field("database_residues_fnv1a64").dump(), digest));
  if (field("chunk_residues") != chunk_residues) return {};  // another chunk size (a test's): built in memory
  if (field("bounds") != nlohmann::json(bounds)) return unusable("its chunks are not the database's");
  std::vector<fs::path> files;
  for (size_t c = 0; c + 1 < bounds.size(); ++c) files.push_back(folder / chunk_file_name(c));
  return files;
}

}  // namespace kfold::msa
