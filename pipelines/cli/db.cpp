// `kfold db create DB.fasta DB_DIR`: packs a FASTA database for search (msa/sequence_db.hpp); `kfold db index
// DB_DIR`: stores its k-mer index beside it (msa/kmer_index_file.hpp).
#include <fmt/format.h>

#include <memory>
#include <string>

#include "data/cpu_count.hpp"
#include "data/log.hpp"
#include "data/thread_limit.hpp"
#include "msa/kmer_index_file.hpp"
#include "msa/sequence_db.hpp"
#include "pipelines/cli/commands.hpp"

namespace kfold::cli {

void add_db_command(CLI::App& app, Action& action) {
  auto* db = app.add_subcommand("db", "Sequence databases for 'kfold search'");
  db->require_subcommand(1);
  db->footer("Example:\n  kfold db create uniref50.fasta.gz dbs/uniref50\n  kfold db index dbs/uniref50");
  auto* create =
      db->add_subcommand("create", "Pack a FASTA file (plain or gzip) into a memory-mappable database directory");
  struct Options {
    std::string fasta;
    std::string db_dir;
  };
  auto options = std::make_shared<Options>();
  create->add_option("DB_FASTA", options->fasta, "Protein sequences (FASTA, plain or gzip)")->required();
  create->add_option("DB_DIR", options->db_dir, "Directory to create (must not exist)")->required();
  create->footer(
      "Writes DB_DIR/{kfold_db.json, residues.bin, offsets.bin, headers.txt, header_offsets.bin}, built in\n"
      "DB_DIR.tmp.<pid> and renamed when complete (a killed run's folder is removed by the next).\n\n"
      "Example:\n  kfold db create uniref50.fasta.gz dbs/uniref50\n  kfold search query.fasta dbs/uniref50 -o msas");
  create->callback([&action, options] {
    action = [options] {
      const msa::DbStats stats = msa::create_db(options->fasta, options->db_dir);
      log_info("{}: {} sequences, {} residues (longest {})", options->db_dir, stats.sequences, stats.residues,
               stats.max_length);
    };
  });

  auto* index = db->add_subcommand(
      "index", "Store a database folder's k-mer index in it, so that searches map it instead of building it");
  struct IndexOptions {
    std::string db_dir;
    int threads = 0;
  };
  auto index_options = std::make_shared<IndexOptions>();
  index->add_option("DB_DIR", index_options->db_dir, "A database folder made by 'kfold db create'")->required();
  index
      ->add_option("--threads", index_options->threads,
                   "OpenMP threads; 0 = $OMP_NUM_THREADS or the CPUs this process may use (the index is the same "
                   "for any count)")
      ->capture_default_str()
      ->check(thread_count());
  index->footer(
      "Writes DB_DIR/kmer_index/ (index.json and one chunk_<c>.kmi per 64 Mi residues; about 9 bytes a residue),\n"
      "built in DB_DIR/kmer_index.tmp.<pid> and renamed when complete, replacing an index stored before\n"
      "(the folders kmer_index.tmp.<pid> and kmer_index.old.<pid> a killed run left are removed).\n"
      "Searches of DB_DIR then map it (pages shared by every process on a node) instead of building it for\n"
      "every run, which is most of a one-query search's time (kfold predict --db, kfold batch); their\n"
      "results are the same. Searches with --index-memory build their own chunks as before.\n\n"
      "Example:\n  kfold db create uniref50.fasta.gz dbs/uniref50\n  kfold db index dbs/uniref50 --threads 8\n"
      "  kfold predict query.fasta --db dbs/uniref50 -o out");
  index->callback([&action, index_options] {
    action = [index_options] {
      const int threads =
          index_options->threads > 0 ? index_options->threads : static_cast<int>(data::default_threads());
      data::check_threads_can_start(threads);
      const msa::StoredIndexStats stats = msa::write_stored_index(index_options->db_dir, threads);
      log_info("{}: k-mer index stored in {} ({} chunk(s), {} words, {:.1f} MiB)", index_options->db_dir,
               msa::kStoredIndexFolder, stats.chunks, stats.entries, static_cast<double>(stats.bytes) / (1 << 20));
    };
  });
}

}  // namespace kfold::cli
