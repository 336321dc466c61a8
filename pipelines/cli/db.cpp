// `kfold db create DB.fasta DB_DIR`: packs a FASTA database for search (msa/sequence_db.hpp).
#include <fmt/format.h>

#include <memory>
#include <string>

#include "data/log.hpp"
#include "msa/sequence_db.hpp"
#include "pipelines/cli/commands.hpp"

namespace kfold::cli {

void add_db_command(CLI::App& app, Action& action) {
  auto* db = app.add_subcommand("db", "Sequence databases for 'kfold search'");
  db->require_subcommand(1);
  db->footer("Example:\n  kfold db create uniref50.fasta.gz dbs/uniref50");
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
}

}  // namespace kfold::cli
