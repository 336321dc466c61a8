// `kfold search QUERY.fasta DB -o DIR`: homology search writing DIR/<query_id>.a3m and DIR/hits.m8.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include "data/atomic_output.hpp"
#include "data/cpu_count.hpp"
#include "data/error.hpp"
#include "data/fasta.hpp"
#include "data/lock_directory.hpp"
#include "data/thread_limit.hpp"
#include "data/written_files_record.hpp"
#include "msa/search.hpp"
#include "msa/search_output.hpp"
#include "msa/sequence_db.hpp"
#include "pipelines/cli/commands.hpp"

namespace kfold::cli {
namespace {

struct SearchCommandOptions {
  std::string query;
  std::string db;
  std::string out_dir;
  msa::MsaFilterOptions filter;
  int64_t index_memory_mib = 0;  // 0: the default chunk
  std::string simd = "auto";
  double sensitivity = msa::kDefaultSensitivity;
  msa::SearchOptions search;
  // Explicit prefilter options override the --sensitivity preset.
  CLI::Option* word_threshold = nullptr;
  CLI::Option* max_prefilter = nullptr;
  CLI::Option* max_seqs = nullptr;
};

void run_search(const SearchCommandOptions& o) {
  namespace fs = std::filesystem;
  msa::check_msa_filter_options(o.filter);
  constexpr int64_t kMaxIndexMemoryMib = int64_t{1} << 30;  // 1 PiB: no overflow in MiB << 20
  if (o.index_memory_mib < 0 || (o.index_memory_mib > 0 && o.index_memory_mib < 16) ||
      o.index_memory_mib > kMaxIndexMemoryMib)
    fail_input("--index-memory must be between 16 and {} (MiB), or 0 for the default (got {})", kMaxIndexMemoryMib,
               o.index_memory_mib);
  msa::SearchOptions options = o.search;
  if (o.index_memory_mib > 0) options.index_memory_bytes = o.index_memory_mib << 20;
  options.prefilter = msa::prefilter_for_search(
      o.search.prefilter, o.sensitivity,
      o.word_threshold->count() > 0 ? std::optional(o.search.prefilter.word_threshold) : std::nullopt,
      o.max_prefilter->count() > 0 ? std::optional(o.search.prefilter.max_candidates) : std::nullopt,
      o.max_seqs->count() > 0 ? std::optional(o.search.max_seqs) : std::nullopt);
  if (options.threads == 0) options.threads = static_cast<int>(data::default_threads());
  data::check_threads_can_start(options.threads);
  if (o.simd != "auto") {
    const msa::SimdLevel level = o.simd == "avx512" ? msa::SimdLevel::avx512
                                 : o.simd == "avx2" ? msa::SimdLevel::avx2
                                 : o.simd == "sse2" ? msa::SimdLevel::sse2
                                                    : msa::SimdLevel::scalar;
    if (!msa::simd_level_supported(level)) fail_input("--simd {}: this CPU does not support it", o.simd);
    options.simd = level;
  }
  msa::check_search_options(options);
  // Everything that can be wrong with the inputs is checked before the output directory is touched.
  const auto queries = data::read_fasta(o.query);
  msa::check_queries(queries, o.query);
  if (fs::exists(o.out_dir) && !fs::is_directory(o.out_dir)) fail_input("{}: exists and is not a directory", o.out_dir);
  msa::check_search_output_paths(o.out_dir, queries, o.query);
  // A query or FASTA database in DIR under a name the search writes (DIR/q.a3m for query q) would be replaced,
  // one an earlier search wrote there (its record) removed, `done` removed first.
  std::vector<std::string> outputs = msa::a3m_file_names(queries, o.query);
  outputs.emplace_back("hits.m8");
  outputs.emplace_back(msa::kDoneMarker);
  if (fs::is_directory(o.out_dir)) {
    const data::WrittenFilesRecord earlier(o.out_dir, msa::kSearchRecord);
    outputs.insert(outputs.end(), earlier.names().begin(), earlier.names().end());
  }
  for (const auto& name : outputs)
    for (const std::string& input : {o.query, o.db})
      if (fs::is_regular_file(input)) data::check_output_is_not_input(fs::path(o.out_dir) / name, input, "-o");
  // The database folder would get the search's files beside its own, and a folder inside it (its kmer_index/)
  // loses them to the next `kfold db index`: -o and each folder above it that exists are compared with the
  // database folder as files (links, "..", bind mounts).
  if (std::error_code error; fs::is_directory(o.db, error)) {
    fs::path out = fs::weakly_canonical(o.out_dir, error).lexically_normal();
    if (!out.has_filename()) out = out.parent_path();  // "db/sub/.." normalises to "db/"
    for (fs::path folder = out; !error && !folder.empty(); folder = folder.parent_path()) {
      if (std::error_code same; fs::equivalent(folder, o.db, same))
        fail_input("-o {}: {} the database being searched; write the search's output to another folder", o.out_dir,
                   folder == out ? "is" : "is inside");
      if (folder == folder.parent_path()) break;  // the root
    }
  }
  const msa::SequenceDb db = msa::SequenceDb::open(o.db);
  // A search that fails (bad input found late, a full disk, a signal) leaves nothing it created: the folders it
  // made, or in a folder that existed the outputs and the record that were not there before (the earlier files
  // stay, but `done`).
  const fs::path dir = o.out_dir;
  const std::vector<fs::path> made = data::make_missing_directories(dir);
  std::vector<fs::path> created;  // once the lock is held: what a failure removes
  std::unique_ptr<data::LockDirectory> locks;
  std::unique_ptr<data::TargetLock> lock;
  try {
    data::ensure_directory(dir);  // an output path that cannot be a directory fails before the search
    // Two searches writing one folder would mix their MSAs and records: the later one stops here. The lock file
    // is DIR/.kfold_search.lock (a name no query's files take: ids starting with '.' are written with '_'); a
    // killed search's lock is taken over.
    locks = std::make_unique<data::LockDirectory>(dir, std::chrono::seconds{600}, false);  // temp files: below
    lock = locks->try_lock(".kfold_search");
    if (!lock)
      fail_input("{}: another kfold search is writing it ({}); wait for it to finish, or give another -o", o.out_dir,
                 locks->holder_text(".kfold_search"));
    std::vector<std::string> names = msa::a3m_file_names(queries, o.query);
    names.insert(names.end(), {"hits.m8", msa::kSearchRecord});
    for (const std::string& name : names)
      if (std::error_code error; !fs::exists(fs::symlink_status(dir / name, error))) created.push_back(dir / name);
    names.insert(names.end(), {msa::kDoneMarker, ".kfold_search.lock"});  // (a lock half made when it was killed)
    data::remove_dead_temp_files(dir, names, std::chrono::seconds(0));  // a killed search's: the lock keeps others out
    // An earlier run's marker must not outlive this run's search: stopped or killed in it, the folder held
    // `done` beside the earlier run's MSAs.
    std::error_code ignored;
    fs::remove(dir / msa::kDoneMarker, ignored);
    const auto results = msa::search(queries, db, options);
    msa::OutputOptions output;
    output.filter = o.filter;
    output.threads = options.threads;
    msa::write_search_outputs(dir, queries, results, db, output);
  } catch (...) {
    std::error_code ignored;
    for (const fs::path& file : created) fs::remove(file, ignored);  // (a folder in its place: only when empty)
    lock.reset();
    locks.reset();
    for (auto folder = made.rbegin(); folder != made.rend(); ++folder) fs::remove(*folder, ignored);  // if empty
    throw;
  }
}

}  // namespace

void add_search_command(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("search", "Homology search: query sequences against a database, MSAs out");
  auto o = std::make_shared<SearchCommandOptions>();
  cmd->add_option("QUERY", o->query, "Query sequences (FASTA, plain or gzip)")->required();
  cmd->add_option("DB", o->db, "Database: a FASTA file or a directory made by 'kfold db create'")->required();
  cmd->add_option("-o,--output,--out", o->out_dir, "Output directory (DIR/<query_id>.a3m, DIR/hits.m8)")->required();
  cmd->add_option("-e,--evalue", o->search.evalue, "Report hits with E-value <= this")->capture_default_str();
  o->max_seqs = cmd->add_option("--max-seqs", o->search.max_seqs,
                                "Hits kept per query (best E-values); given, it raises the prefilter's candidates "
                                "(--max-prefilter, from -s: 1000 at -s 4) to as many, unless --max-prefilter is given")
                    ->capture_default_str();
  cmd->add_option("-s,--sensitivity", o->sensitivity,
                  fmt::format("Speed/sensitivity preset from {} (fastest) to {} (most sensitive); sets "
                              "--word-threshold and --max-prefilter unless they are given",
                              msa::kMinSensitivity, msa::kMaxSensitivity))
      ->capture_default_str();
  o->max_prefilter = cmd->add_option("--max-prefilter,--max-candidates", o->search.prefilter.max_candidates,
                                     "Prefilter candidates per query passed to gapped alignment (default: from -s)");
  cmd->add_option("--min-ungapped-score", o->search.prefilter.min_ungapped_score,
                  "Smallest best-diagonal (ungapped) score of a prefilter candidate")
      ->capture_default_str();
  o->word_threshold =
      cmd->add_option("--word-threshold", o->search.prefilter.word_threshold,
                      "Score T of similar 4-mer seed words (lower: more sensitive, slower; default: from -s)");
  cmd->add_flag(
      "!--no-mask", o->search.prefilter.mask_low_complexity,
      "Do not mask low-complexity query regions (by default they neither seed nor score: scored as X, as BLAST's SEG; "
      "without the mask, queries rich in a few residues (Gly/Pro, Glu/Lys) find decoys biased the same way)");
  cmd->add_flag("!--no-comp-bias", o->search.composition_bias,
                "Raw substitution scores: no local composition-bias correction (by default each query position's "
                "scores are shifted by its expected score minus its mean score against the query's residues within "
                "20 positions, as MMseqs2's --comp-bias-corr, so that coiled coils and repeats do not align on "
                "composition alone)");
  cmd->add_flag("!--no-comp-stats", o->search.composition_stats,
                "Plain BLOSUM62 E-values: no composition-based statistics (by default a hit's score is scaled by "
                "lambda'/lambda, lambda' computed with the target's amino-acid composition, as BLAST's "
                "-comp_based_stats 1, so that compositionally biased pairs are not called significant)");
  cmd->add_option(
         "--min-cov", o->search.min_coverage,
         "Least fraction of the query a hit must span (first to last aligned query residue, as MMseqs2 --cov-mode 2)")
      ->capture_default_str();
  cmd->add_option("--alt-ali", o->search.alt_alignments,
                  "Further alignments per target beyond its best, none overlapping another in the target (as "
                  "MMseqs2's --alt-ali; ColabFold searches with 10): a target holding two copies of a domain gives "
                  "two rows; each passes -e and --min-cov and counts against --max-seqs")
      ->capture_default_str();
  cmd->add_option("--max-seq-id", o->filter.max_seq_id,
                  "Drop A3M rows more identical than this to a row kept before them (1: keep all)")
      ->capture_default_str();
  cmd->add_option("--diff", o->filter.diff,
                  "Diversity filter as hhfilter -diff: keep the N most diverse A3M rows covering each 50-column "
                  "block of the query (after --max-seq-id; 0: off)")
      ->capture_default_str();
  cmd->add_option("--gap-open", o->search.gaps.open, "Gap open penalty (BLOSUM62)")->capture_default_str();
  cmd->add_option("--gap-extend", o->search.gaps.extend, "Gap extension penalty")->capture_default_str();
  cmd->add_option("--iterations", o->search.iterations,
                  "Search rounds; rounds after the first search with a PSSM of the included hits (PSI-BLAST style)")
      ->capture_default_str();
  cmd->add_option("--inclusion-evalue", o->search.inclusion_evalue,
                  "Hits with E-value <= this build the next round's PSSM (of the hits kept: within -e, "
                  "--min-cov and --max-seqs)")
      ->capture_default_str();
  o->search.threads = 0;
  cmd->add_option(
         "--threads", o->search.threads,
         "OpenMP threads; 0 = $OMP_NUM_THREADS or the CPUs this process may use (output is identical for any count)")
      ->capture_default_str()
      ->check(thread_count());
  cmd->add_option("--index-memory", o->index_memory_mib,
                  "MiB for the prefilter: the k-mer index built in memory (about 9 bytes per database residue; "
                  "a stored one, from 'kfold db index', is not used then) and each "
                  "thread's scan state (about 1 byte per residue, at least 45 bytes per sequence); a larger "
                  "database is scanned in chunks that fit, with identical results. Default 0: chunks of 64 Mi "
                  "residues (576 MiB of index, plus about 64 MiB per thread)")
      ->capture_default_str();
  cmd->add_option("--simd", o->simd,
                  "Alignment kernel: auto (of AVX-512BW and AVX2 the faster on this CPU, timed at start, at most "
                  "KFOLD_CPU_CAPABILITY's level; same output with any), avx512, avx2, sse2 or scalar")
      ->check(CLI::IsMember({"auto", "avx512", "avx2", "sse2", "scalar"}))
      ->capture_default_str();
  cmd->footer(
      "Scoring: BLOSUM62 with a local composition-bias shift per query position (--no-comp-bias: none), gaps\n"
      "11/1, Karlin-Altschul E-values (lambda 0.267, K 0.041) over the whole database,\n"
      "with composition-based statistics: each hit's score is scaled by lambda'/lambda (0.5 to 1), lambda' the\n"
      "ungapped lambda of the query's scores under the target's composition (as BLAST's -comp_based_stats 1;\n"
      "--no-comp-stats turns it off), so that two sequences biased the same way are not called homologs.\n"
      "Queries may have at most 16384 residues; one under 5 finds nothing (the prefilter needs two seed\n"
      "words). A hit whose alignment needs more than 2^28 traceback cells (query x target span) is skipped\n"
      "with a warning: near that length, a homolog with insertions.\n"
      "Prefilter: similar 4-mers (score >= T) looked up in a k-mer index of the database (built in memory, or\n"
      "mapped from the one 'kfold db index' stored), two hits\n"
      "on one diagonal, best ungapped diagonal score; the best --max-prefilter targets get gapped alignment.\n"
      "On the scripts/bench_msa data: -s 1 finds 0.79 of phmmer's hits in 0.7-0.9x MMseqs2-default's time\n"
      "(which finds 0.74); -s 4 (default) 0.92 in 1.3-1.7x; -s 7: most sensitive. DIR/done is written when\n"
      "every output is complete.\n\n"
      "Example:\n  kfold db create uniref50.fasta.gz dbs/uniref50\n"
      "  kfold search query.fasta dbs/uniref50 -o msas --threads 8 -e 1e-3 --max-seqs 5000\n"
      "  kfold search query.fasta dbs/uniref50 -o msas --iterations 3 --max-seq-id 0.9 --min-cov 0.5\n"
      "  kfold search query.fasta dbs/uniref50 -o msas --max-seq-id 0.95 --diff 3000   # ColabFold-like A3Ms\n"
      "  kfold search query.fasta dbs/uniref50 -o msas -s 1   # fastest");
  cmd->callback([&action, o] { action = [o] { run_search(*o); }; });
}

}  // namespace kfold::cli
