// The agent round end to end on the shipped example: files, plate invariants, determinism, thread
// independence.
#include <doctest/doctest.h>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "agent/agent_round.hpp"
#include "data/error.hpp"
#include "data/text_input.hpp"
#include "pipelines/agent/agent_outputs.hpp"
#include "pipelines/agent/agent_run.hpp"
#include "pipelines/agent/scoring.hpp"
#include "pipelines/agent/variant.hpp"
#include "test_support.hpp"

using namespace kfold::pipelines::agent;

namespace {

const std::filesystem::path kCampaign = kfold::test::source_dir() / "data/examples/ubiquitin_campaign.json";
const std::string kWildType = "MQIFVKTLTGKTITLEVEPSDTIENVKAKIQDKEGIPPDQQRLIFAGKQLEDGRTLSDYNIQKESTLHLVLRLRGG";

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cell;
  bool quoted = false;
  for (const char c : s) {
    if (c == '"')
      quoted = !quoted;
    else if (c == sep && !quoted) {
      out.push_back(cell);
      cell.clear();
    } else
      cell += c;
  }
  out.push_back(cell);
  return out;
}

std::vector<std::vector<std::string>> read_table(const std::filesystem::path& p, char sep) {
  std::ifstream in(p);
  std::string line;
  std::vector<std::vector<std::string>> rows;
  while (std::getline(in, line)) rows.push_back(split(line, sep));
  return rows;
}

// Index of a named column of a header row (fails the test when absent).
size_t column(const std::vector<std::string>& header, const std::string& name) {
  const auto it = std::find(header.begin(), header.end(), name);
  REQUIRE_MESSAGE(it != header.end(), "no column " << name);
  return static_cast<size_t>(it - header.begin());
}

}  // namespace

TEST_CASE("agent run: example campaign, plate invariants") {
  kfold::test::ScratchDir dir("agent-run");
  AgentOptions o;
  o.out_dir = dir.path();
  o.threads = 2;
  run_agent(kCampaign, o);
  for (const char* f : {"scores.tsv", "plate.csv", "notebook.jsonl", "report.md", "report.html", "done"}) {
    CHECK(std::filesystem::exists(dir / f));
  }
  const auto plate = read_table(dir / "plate.csv", ',');
  REQUIRE(plate.size() == 97u);  // header + 96 wells
  CHECK(plate[0] == std::vector<std::string>{"well", "id", "mutations", "sequence", "score", "sd", "rank", "operator",
                                             "flags", "rationale"});
  std::set<std::string> wells;
  std::set<std::string> mutations;
  std::map<int64_t, int> per_position;
  std::set<int64_t> ranks;
  int controls = 0;
  std::vector<std::string> control_wells;
  std::vector<std::string> blank_wells;
  for (size_t k = 1; k < plate.size(); ++k) {
    const auto& r = plate[k];
    REQUIRE(r.size() == 10u);
    CHECK(wells.insert(r[0]).second);
    // Named as plate readers and picklists name wells: A01 .. H12, in well order.
    CHECK(r[0] == fmt::format("{}{:02d}", static_cast<char>('A' + (k - 1) / 12), (k - 1) % 12 + 1));
    if (r[7] == "control") {
      ++controls;
      control_wells.push_back(r[0]);
      CHECK(r[2] == "WT");
      CHECK(r[3] == kWildType);
      continue;
    }
    if (r[7] == "blank") {  // buffer only: no protein, nothing to score
      blank_wells.push_back(r[0]);
      CHECK(r == std::vector<std::string>{r[0], "BLANK", "blank", "", "NA", "NA", "", "blank", "",
                                          "blank well: buffer only (no protein) for the background"});
      continue;
    }
    CHECK(mutations.insert(r[2]).second);  // no duplicates
    const Variant v = parse_variant(r[2], "plate.csv");
    CHECK(r[3] == apply_variant(v, kWildType, 1));
    CHECK(v.substitutions.size() <= 2u);  // max_mutations
    for (const auto& s : v.substitutions) {
      ++per_position[s.position];
      CHECK(s.position != 1);   // frozen
      CHECK(s.position != 76);  // frozen
    }
    CHECK(ranks.insert(std::stoll(r[6])).second);
    // Flags are reported; hard-flagged variants never reach the plate (only the soft sequence flags).
    CHECK((r[8].empty() || r[8] == "pro_introduced" || r[8] == "new_oxidation" ||
           r[8] == "new_oxidation;pro_introduced"));
    CHECK(!r[9].empty());
    CHECK(r[2] != "I44A");  // measured in ubiquitin_round0.csv: not proposed again
  }
  CHECK(controls == 4);
  CHECK(blank_wells.size() == 2u);
  CHECK(ranks.size() == 90u);
  CHECK(*ranks.begin() == 1);
  CHECK(*ranks.rbegin() == 90);
  for (const auto& [pos, n] : per_position) CHECK(n <= 2);

  // scores.tsv: every single substitution of the 74 free residues, plus consensus combinations.
  const auto scores = read_table(dir / "scores.tsv", '\t');
  REQUIRE(scores.size() > 1u);
  const auto& head = scores[0];
  CHECK(head[4] == "site_independent");
  CHECK(head[5] == "potts");
  CHECK(head[6] == "residue_term");
  const size_t flags = column(head, "flags");
  for (const char* name : {"stability", "solubility", "total", "sd", "surrogate_mean", "surrogate_sd", "acquisition"}) {
    CHECK(column(head, name) < flags);
  }
  int64_t singles = 0;
  bool flagged_cys = false;
  for (size_t k = 1; k < scores.size(); ++k) {
    if (scores[k][3] == "1") ++singles;
    if (scores[k][1] == "K6C") flagged_cys = scores[k][flags].find("new_unpaired_cys") != std::string::npos;
  }
  CHECK(singles == 74 * 19);
  CHECK(flagged_cys);
  // notebook: one run record then one record per hypothesis.
  std::ifstream nb(dir / "notebook.jsonl");
  std::string line;
  std::getline(nb, line);
  const auto run = nlohmann::json::parse(line);
  CHECK(run["type"] == "run");
  CHECK(run["round"] == 1);
  CHECK(run["input_hashes"].size() == 3u);
  CHECK(run["seed"] == 0);
  CHECK(run["plate"]["size"] == 96);
  CHECK(run["plate"]["variants"] == 90);
  CHECK(run["plate"]["controls"] == 4);
  CHECK(run["plate"]["blanks"] == 2);
  CHECK(run["plate"]["control_wells"] == control_wells);
  CHECK(run["plate"]["blank_wells"] == blank_wells);
  int64_t records = 0;
  while (std::getline(nb, line)) {
    const auto rec = nlohmann::json::parse(line);
    CHECK(rec["type"] == "hypothesis");
    ++records;
  }
  CHECK(records == static_cast<int64_t>(scores.size()) - 1);
  const std::string report = kfold::data::read_text_file(dir / "report.md");
  // Solubility is computed (sequence only: no structure here); its column is in scores.tsv.
  CHECK(report.find("| solubility | 0.3 | hydropathy change") != std::string::npos);
  // The plate's counts name the control and blank wells.
  const std::string counts = fmt::format(
      "Plate of 96: 90 variant wells ({} exploring untested residues; at most 2 variants per position), 0 "
      "construct wells, 4 wild-type control wells ({}) and 2 blank wells, buffer only for the background ({});",
      run["plate"]["explore"].get<int64_t>(), fmt::join(control_wells, ", "), fmt::join(blank_wells, ", "));
  CHECK_MESSAGE(report.find("- " + counts) != std::string::npos, report);
  CHECK(kfold::data::read_text_file(dir / "report.html").find("<li>" + counts) != std::string::npos);
  // plate.csv is ASCII for liquid handlers and spreadsheet imports (its rationales held UTF-8 +/- and delta).
  const std::string plate_text = kfold::data::read_text_file(dir / "plate.csv");
  CHECK(
      std::all_of(plate_text.begin(), plate_text.end(), [](char ch) { return static_cast<unsigned char>(ch) < 0x80; }));
  CHECK(plate_text.find(") for stability") != std::string::npos);  // the objective's evolutionary term
  // report.html said "not computed in this version" for it.
  CHECK(kfold::data::read_text_file(dir / "report.html").find("<td>solubility</td><td>0.3</td><td>hydropathy change") !=
        std::string::npos);
}

TEST_CASE("agent run: same seed gives a byte-identical plate, threads do not matter, notebook appends") {
  kfold::test::ScratchDir a("agent-det-a");
  kfold::test::ScratchDir b("agent-det-b");
  kfold::test::ScratchDir c("agent-det-c");
  AgentOptions o;
  o.threads = 1;
  o.out_dir = a.path();
  run_agent(kCampaign, o);
  o.threads = 2;
  o.out_dir = b.path();
  run_agent(kCampaign, o);
  using kfold::data::read_text_file;
  CHECK(read_text_file(a / "plate.csv") == read_text_file(b / "plate.csv"));
  CHECK(read_text_file(a / "scores.tsv") == read_text_file(b / "scores.tsv"));
  // The reports too (report.md held the Potts fit's wall time).
  CHECK(read_text_file(a / "report.md") == read_text_file(b / "report.md"));
  CHECK(read_text_file(a / "report.html") == read_text_file(b / "report.html"));
  o.seed = 12345;
  o.out_dir = c.path();
  run_agent(kCampaign, o);
  CHECK(read_text_file(a / "plate.csv") != read_text_file(c / "plate.csv"));  // another layout
  // The seed moves the bootstrap ensemble (surrogate columns), never the evolutionary scores.
  const auto scores_a = read_table(a / "scores.tsv", '\t');
  const auto scores_c = read_table(c / "scores.tsv", '\t');
  REQUIRE(scores_a.size() == scores_c.size());
  for (size_t k = 0; k < scores_a.size(); ++k) {
    CHECK(std::vector<std::string>(scores_a[k].begin(), scores_a[k].begin() + 8) ==
          std::vector<std::string>(scores_c[k].begin(), scores_c[k].begin() + 8));
  }
  // A second round into the same folder appends to the notebook.
  run_agent(kCampaign, o);
  const std::string nb = read_text_file(c / "notebook.jsonl");
  CHECK(nb.find("\"round\":2") != std::string::npos);
  CHECK(nb.find("\"round\":1") != std::string::npos);
  // Another campaign into that folder is refused (it became round 3 of this one), and nothing changes.
  auto other = nlohmann::json::parse(read_text_file(kCampaign));
  other["name"] = "another-campaign";
  other["target"]["msa"] = (kCampaign.parent_path() / "ubiquitin.a3m").string();
  other["results"] = {(kCampaign.parent_path() / "ubiquitin_round0.csv").string()};
  std::ofstream(a / "other.json") << other.dump();
  CHECK_THROWS_WITH_AS(run_agent(a / "other.json", o),
                       doctest::Contains("holds the rounds of campaign 'ubiquitin-stability-demo', not of "
                                         "'another-campaign'"),
                       kfold::InputError);
  CHECK(read_text_file(c / "notebook.jsonl") == nb);
  // A run refused after its output folder was made leaves no empty folder behind.
  other["target"]["sequence"] = "MKV" + kWildType.substr(3);  // not the alignment's query
  std::ofstream(a / "other.json") << other.dump();
  o.out_dir = a / "new_folder";
  CHECK_THROWS_AS(run_agent(a / "other.json", o), kfold::InputError);
  CHECK(!std::filesystem::exists(a / "new_folder"));
}

TEST_CASE("agent run: with results the surrogate ranks, Thompson and UCB plates are deterministic per seed") {
  kfold::test::ScratchDir dir("agent-surrogate");
  const auto examples = kfold::test::source_dir() / "data/examples";
  auto campaign = nlohmann::json::parse(kfold::data::read_text_file(kCampaign));
  campaign["target"]["msa"] = (examples / "ubiquitin.a3m").string();
  campaign["results"] = {(examples / "ubiquitin_round0.csv").string()};
  campaign["evolution"]["potts_iterations"] = 5;
  auto run_with = [&](const std::string& acquisition, const std::string& out, int threads) {
    campaign["acquisition"] = {{"type", acquisition}, {"beta", 1.5}};
    const auto path = dir / (acquisition + ".json");
    std::ofstream(path) << campaign.dump();
    AgentOptions o;
    o.threads = threads;
    o.out_dir = dir / out;
    run_agent(path, o);
    return kfold::data::read_text_file(dir / out / "plate.csv");
  };
  using kfold::data::read_text_file;
  const std::string ucb1 = run_with("ucb", "ucb1", 1);
  CHECK(ucb1 == run_with("ucb", "ucb2", 2));
  const std::string ts1 = run_with("thompson", "ts1", 1);
  CHECK(ts1 == run_with("thompson", "ts2", 2));
  CHECK(ts1 != ucb1);
  const auto scores = read_table(dir / "ucb1" / "scores.tsv", '\t');
  REQUIRE(scores.size() > 1u);
  const size_t total = column(scores[0], "total");
  const size_t sd = column(scores[0], "sd");
  const size_t mean = column(scores[0], "surrogate_mean");
  const size_t mean_sd = column(scores[0], "surrogate_sd");
  const size_t ensemble_sd = column(scores[0], "surrogate_ensemble_sd");
  const size_t acquisition = column(scores[0], "acquisition");
  // total = surrogate mean + the objective's solubility term (weight 0.3, one z unit = the sd of the
  // surrogate means over the rows), which the surrogate of the measurements does not predict.
  const size_t solubility = column(scores[0], "solubility");
  std::vector<double> means, solubilities;
  for (size_t k = 1; k < scores.size(); ++k) {
    means.push_back(std::stod(scores[k][mean]));
    solubilities.push_back(std::stod(scores[k][solubility]));
  }
  const Moments m_mean = finite_moments(means), m_sol = finite_moments(solubilities);
  REQUIRE(campaign["objective"]["solubility"] == 0.3);
  for (size_t k = 1; k < scores.size(); ++k) {
    const double shift = 0.3 * m_mean.sd * (solubilities[k - 1] - m_sol.mean) / m_sol.sd;
    CHECK(std::stod(scores[k][total]) == doctest::Approx(means[k - 1] + shift).epsilon(1e-4).scale(1.0));
    CHECK(scores[k][sd] == scores[k][mean_sd]);                                // sd = the surrogate's predictive sd
    CHECK(std::stod(scores[k][mean_sd]) > std::stod(scores[k][ensemble_sd]));  // + the leave-one-out residual
    // UCB adds the ensemble's spread alone.
    CHECK(std::stod(scores[k][acquisition]) ==
          doctest::Approx(std::stod(scores[k][total]) + 1.5 * std::stod(scores[k][ensemble_sd]))
              .epsilon(1e-4)
              .scale(1.0));
  }
  // The solubility weight still shapes the plate once there is a surrogate (it was dropped: weights 0 and
  // 0.3 gave the same plate).
  campaign["objective"]["solubility"] = 0.0;
  CHECK(run_with("ucb", "ucb_no_solubility", 1) != ucb1);
  // Every weight times 10: the same plate (the solubility term counts relative to the measured one; it
  // was 0.3 then 3 times the measurement's spread: 92 of 96 wells changed).
  campaign["objective"] = {{"stability", 10.0}, {"solubility", 3.0}};
  const auto wells = [](const std::string& plate_csv) {  // well -> mutations (rationales quote scaled values)
    std::map<std::string, std::string> out;
    std::istringstream lines(plate_csv);
    for (std::string line; std::getline(lines, line);) {
      const size_t a = line.find(','), b = line.find(',', a + 1), c = line.find(',', b + 1);
      out[line.substr(0, a)] = line.substr(b + 1, c - b - 1);
    }
    return out;
  };
  CHECK(wells(run_with("ucb", "ucb_scaled_weights", 1)) == wells(ucb1));
  campaign["objective"] = {{"stability", 1.0}, {"solubility", 0.3}};
  std::ifstream nb(dir / "ucb1" / "notebook.jsonl");
  std::string line;
  std::getline(nb, line);
  const auto head = nlohmann::json::parse(line);
  CHECK(head["surrogate"]["measurements"] == 12);
  CHECK(head["surrogate"]["members"] == 32);
  CHECK(head["plate"]["explore"].get<int64_t>() > 0);
  const std::string plate = read_text_file(dir / "ucb1" / "plate.csv");
  CHECK(plate.find("explore: untested residue, explore key ") != std::string::npos);
  const std::string html = read_text_file(dir / "ucb1" / "report.html");
  CHECK(html.find("Surrogate calibration") != std::string::npos);
  CHECK(html.find("<svg") != std::string::npos);
}

TEST_CASE("agent run: a campaign with target.db searches once and reuses the alignment") {
  kfold::test::ScratchDir dir("agent-db");
  auto campaign = nlohmann::json::parse(kfold::data::read_text_file(kCampaign));
  const auto examples = kCampaign.parent_path();
  campaign["target"].erase("msa");
  campaign["target"]["db"] = (examples / "ubiquitin_db.fasta").string();
  campaign["results"] = nlohmann::json::array();
  campaign["structure_budget"] = 0;
  const auto campaign_path = dir / "db_campaign.json";
  std::ofstream(campaign_path) << campaign.dump();
  AgentOptions o;
  o.out_dir = dir / "out";
  o.threads = 2;
  o.no_potts = true;
  run_agent(campaign_path, o);
  const auto a3m = kfold::data::read_text_file(dir / "out/target.a3m");
  CHECK(a3m.rfind(">UBQ_HUMAN", 0) == 0);  // the query row first
  // The demonstration database holds ubiquitin homologs and unrelated decoys: some rows, not all.
  const auto rows = std::count(a3m.begin(), a3m.end(), '>');
  CHECK(rows >= 3);
  const auto db_text = kfold::data::read_text_file(examples / "ubiquitin_db.fasta");
  CHECK(rows < 1 + std::count(db_text.begin(), db_text.end(), '>'));
  const auto record = nlohmann::json::parse(kfold::data::read_text_file(dir / "out/target_search.json"));
  CHECK(record["target_id"] == "UBQ_HUMAN");
  const auto notebook = kfold::data::read_text_file(dir / "out/notebook.jsonl");
  CHECK(notebook.find("target.a3m") != std::string::npos);  // its hash is an input of the round

  // A second round finds the record current and leaves the alignment as it is.
  const auto written = std::filesystem::last_write_time(dir / "out/target.a3m");
  run_agent(campaign_path, o);
  CHECK(std::filesystem::last_write_time(dir / "out/target.a3m") == written);
  // Another target sequence (one substitution) is searched anew.
  std::string sequence = campaign["target"]["sequence"];
  sequence[1] = 'A';
  campaign["target"]["sequence"] = sequence;
  campaign["frozen"] = nlohmann::json::array();
  std::ofstream(campaign_path) << campaign.dump();
  // The focus of the searched alignment is the new sequence, so the round runs.
  run_agent(campaign_path, o);
  CHECK(nlohmann::json::parse(kfold::data::read_text_file(dir / "out/target_search.json"))["target_sha256"] !=
        record["target_sha256"]);
}

namespace {

// An oracle whose every prediction has a disordered C-terminal tail from residue 71 on (as ubiquitin's
// flexible Gly-Gly tail) and a straight Cα trace. With `partner_length` > 0 it predicts complexes: that
// many partner residues (pLDDT 10) after the target's, a PAE of 2 Å within the target and between the
// chains 5 Å for the full length (76 residues), 12 Å for anything shorter.
class TailOracle : public StructureOracle {
 public:
  StructurePrediction predict(const std::string& sequence) override {
    ++calls;
    StructurePrediction p;
    for (size_t i = 0; i < sequence.size(); ++i) {
      p.plddt.push_back(i >= 70 ? 30.0 : 90.0);
      p.ca.push_back({3.8 * static_cast<double>(i), 0.0, 0.0});
    }
    p.ptm = 0.7;
    p.pdb = "REMARK " + std::to_string(sequence.size()) + " residues\nEND\n";
    if (partner_length > 0) {
      const size_t n_target = sequence.size();
      const size_t n = n_target + partner_length;
      for (size_t i = n_target; i < n; ++i) {
        p.plddt.push_back(10.0);
        p.ca.push_back({3.8 * static_cast<double>(i - n_target), 6.0, 0.0});
      }
      p.chain_break = static_cast<int64_t>(n_target);
      const double between = n_target == 76 ? 5.0 : 12.0;
      p.pae.assign(n * n, between);
      for (size_t i = 0; i < n_target; ++i) {
        for (size_t j = 0; j < n_target; ++j) p.pae[i * n + j] = 2.0;
      }
    }
    return p;
  }
  StructurePrediction predict_fragment(const std::string& sequence, int64_t offset) override {
    fragments.emplace_back(offset, sequence.size());
    return predict(sequence);
  }
  int64_t calls = 0;
  size_t partner_length = 0;
  std::vector<std::pair<int64_t, size_t>> fragments;
};

// The example campaign with the shipped alignment, residue 1 frozen, no results and a structure budget
// of 3, written to DIR/c.json; options for DIR/out with the oracle (site-independent only, 2 threads).
nlohmann::json construct_campaign(const std::filesystem::path& dir, AgentOptions& o, StructureOracle& oracle) {
  auto campaign = nlohmann::json::parse(kfold::data::read_text_file(kCampaign));
  campaign["target"]["msa"] = (kCampaign.parent_path() / "ubiquitin.a3m").string();
  campaign["frozen"] = {1};
  campaign["results"] = nlohmann::json::array();
  campaign["structure_budget"] = 3;
  std::ofstream(dir / "c.json") << campaign.dump();
  o.out_dir = dir / "out";
  o.threads = 2;
  o.no_potts = true;
  o.structure_oracle = &oracle;
  return campaign;
}

}  // namespace

TEST_CASE("agent run: construct proposals from the predicted wild type reach the plate and the records") {
  kfold::test::ScratchDir dir("agent-constructs");
  TailOracle oracle;
  AgentOptions o;
  auto campaign = construct_campaign(dir.path(), o, oracle);
  const auto campaign_path = dir / "c.json";
  run_agent(campaign_path, o);
  // The wild type, the construct alone (residues 1-70: offset 0, 70 residues), two variants.
  CHECK(oracle.calls == 4);
  CHECK(oracle.fragments == std::vector<std::pair<int64_t, size_t>>{{0, 70}});
  const auto constructs = read_table(dir / "out/constructs.tsv", '\t');
  REQUIRE(constructs.size() == 2u);
  CHECK(constructs[1][0] == "C01");
  CHECK(constructs[1][1] == "construct 1-70");
  CHECK(constructs[1][2] == "trim_termini");
  CHECK(constructs[1][8] == "90.000000");  // predicted alone
  CHECK(constructs[1][10] == "NA");        // no partner, no interface
  const std::string well = constructs[1][6];
  const auto plate = read_table(dir / "out/plate.csv", ',');
  int64_t construct_wells = 0;
  for (const auto& r : plate) {
    if (r[7] != "trim_termini") continue;
    ++construct_wells;
    CHECK(r[0] == well);
    CHECK(r[2] == "construct 1-70");
    CHECK(r[3] == kWildType.substr(0, 70));
    CHECK(r[9].find("C-terminal residues 71-76 disordered (mean pLDDT 30)") != std::string::npos);
  }
  CHECK(construct_wells == 1);
  // The construct predicted alone is saved beside the wild type and the shortlisted variants.
  CHECK(kfold::data::read_text_file(dir / "out/structures/C01_construct_1-70.pdb") == "REMARK 70 residues\nEND\n");
  CHECK(kfold::data::read_text_file(dir / "out/structures/WT.pdb") == "REMARK 76 residues\nEND\n");
  CHECK(plate.size() == 97u);  // still 96 wells
  const auto notebook = kfold::data::read_text_file(dir / "out/notebook.jsonl");
  CHECK(notebook.find(R"("type":"construct")") != std::string::npos);
  CHECK(kfold::data::read_text_file(dir / "out/report.md").find("## Construct proposals") != std::string::npos);
  CHECK(kfold::data::read_text_file(dir / "out/report.html").find("<h2>Construct proposals</h2>") != std::string::npos);
  // The structure operators ran on the predicted wild type (a straight trace: every residue exposed).
  const auto scores = kfold::data::read_text_file(dir / "out/scores.tsv");
  CHECK(scores.find("surface_entropy_reduction") != std::string::npos);

  // The lab's results may carry the construct well's name: it is not learned from, and the rest is.
  std::ofstream(dir / "round1.csv") << "variant,value\nconstruct 1-70,0.4\nQ2A,0.1\n";
  campaign["results"] = {(dir / "round1.csv").string()};
  campaign["structure_budget"] = 0;
  std::ofstream(campaign_path) << campaign.dump();
  o.structure_oracle = nullptr;
  run_agent(campaign_path, o);
  CHECK(!std::filesystem::exists(dir / "out/constructs.tsv"));  // this round proposed none
  CHECK(kfold::data::read_text_file(dir / "out/scores.tsv").find("Q2A") != std::string::npos);
}

TEST_CASE("agent run: with a partner chain, constructs are predicted in complex with it") {
  kfold::test::ScratchDir dir("agent-constructs-partner");
  TailOracle oracle;
  oracle.partner_length = 5;
  AgentOptions o;
  auto campaign = construct_campaign(dir.path(), o, oracle);
  campaign["target"]["partner"] = {{"id", "PEP"}, {"sequence", "MKTAY"}};
  std::ofstream(dir / "c.json") << campaign.dump();
  run_agent(dir / "c.json", o);
  // The proposal reads the target chain of the complex: the same construct as without a partner.
  CHECK(oracle.fragments == std::vector<std::pair<int64_t, size_t>>{{0, 70}});
  const auto constructs = read_table(dir / "out/constructs.tsv", '\t');
  REQUIRE(constructs.size() == 2u);
  CHECK(constructs[0][10] == "interface_pae");
  CHECK(constructs[1][1] == "construct 1-70");
  CHECK(constructs[1][8] == "90.000000");   // the construct's residues only, not the partner's pLDDT 10
  CHECK(constructs[1][10] == "12.000000");  // between the construct and the partner
  CHECK(constructs[1][12].find("with PEP: interface PAE 12.0 Å (full-length wild type 5.0 Å)") != std::string::npos);
  const auto notebook = kfold::data::read_text_file(dir / "out/notebook.jsonl");
  CHECK(notebook.find(R"("interface_pae":12.0)") != std::string::npos);
}

TEST_CASE("agent run: the structure shortlist skips measured variants") {
  kfold::test::ScratchDir dir("agent-shortlist-measured");
  TailOracle oracle;
  AgentOptions o;
  auto campaign = construct_campaign(dir.path(), o, oracle);
  // Variants with structure terms in scores.tsv: the shortlist of the round.
  const auto shortlisted = [&] {
    const auto scores = read_table(dir / "out/scores.tsv", '\t');
    const size_t mutations = column(scores[0], "mutations");
    const size_t terms = column(scores[0], "delta_plddt_site");
    std::vector<std::string> out;
    for (size_t k = 1; k < scores.size(); ++k)
      if (scores[k][terms] != "NA") out.push_back(scores[k][mutations]);
    return out;
  };
  run_agent(dir / "c.json", o);
  const auto first = shortlisted();
  REQUIRE(first.size() == 2u);  // structure_budget 3: the wild type's construct took one
  // Measure them (fewer than min_measurements: still zero-shot), and the next shortlist goes elsewhere.
  std::ofstream results(dir / "round1.csv");
  results << "variant,value\n";
  for (const auto& v : first) results << v << ",0.5\n";
  results.close();
  campaign["results"] = {(dir / "round1.csv").string()};
  std::ofstream(dir / "c.json") << campaign.dump();
  run_agent(dir / "c.json", o);
  const auto second = shortlisted();
  CHECK(second.size() == 2u);
  for (const auto& v : second) CHECK(std::find(first.begin(), first.end(), v) == first.end());
}

TEST_CASE("agent run: constructs that cannot reach the plate are not predicted") {
  kfold::test::ScratchDir dir("agent-constructs-off");
  TailOracle oracle;
  AgentOptions o;
  auto campaign = construct_campaign(dir.path(), o, oracle);
  campaign["plate"]["constructs"] = 0;
  std::ofstream(dir / "c.json") << campaign.dump();
  run_agent(dir / "c.json", o);
  CHECK(oracle.fragments.empty());
  CHECK(oracle.calls == 4);  // the wild type and the whole budget of 3 for variants
  const auto scores = read_table(dir / "out/scores.tsv", '\t');
  const size_t terms = column(scores[0], "delta_plddt_site");
  CHECK(std::count_if(scores.begin() + 1, scores.end(), [&](const auto& r) { return r[terms] != "NA"; }) == 3);
}

TEST_CASE("agent run: a solubility objective scores residues off the alignment, replicates are averaged") {
  kfold::test::ScratchDir dir("agent-solubility");
  // The example alignment with residues 1-4 as insertions of the query (no column: no evolutionary term).
  std::istringstream lines(kfold::data::read_text_file(kCampaign.parent_path() / "ubiquitin.a3m"));
  std::ofstream a3m(dir / "partial.a3m");
  bool query = true;
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] == '>') {
      a3m << line << "\n";
      continue;
    }
    a3m << (query ? "mqif" : "") << line.substr(4) << "\n";
    query = false;
  }
  a3m.close();
  auto campaign = nlohmann::json::parse(kfold::data::read_text_file(kCampaign));
  campaign["target"]["msa"] = (dir / "partial.a3m").string();
  campaign["objective"] = {{"solubility", 1.0}};
  std::ofstream(dir / "r.csv") << "variant,value\nQ2A,1\nQ2A,2\n";
  campaign["results"] = {(dir / "r.csv").string()};
  std::ofstream(dir / "c.json") << campaign.dump();
  AgentOptions o;
  o.out_dir = dir / "out";
  o.threads = 2;
  o.no_potts = true;
  run_agent(dir / "c.json", o);
  const auto scores = read_table(dir / "out/scores.tsv", '\t');
  const size_t mutations = column(scores[0], "mutations");
  const size_t total = column(scores[0], "total");
  const size_t measured = column(scores[0], "measured");
  int64_t off_alignment = 0;
  for (size_t k = 1; k < scores.size(); ++k) {
    const std::string& m = scores[k][mutations];
    if (m.size() != 3 || (m[1] != '2' && m[1] != '3' && m[1] != '4')) continue;
    ++off_alignment;
    CAPTURE(m);
    CHECK(scores[k][total] != "NA");                           // 0 x NaN made them NaN: never on a plate
    if (m == "Q2A") CHECK(scores[k][measured] == "1.500000");  // the mean of the two replicates
  }
  CHECK(off_alignment == 3 * 19);
  // One measured variant in two result rows (the report said "2 measured before").
  CHECK(kfold::data::read_text_file(dir / "out/report.md").find("(1 of them measured before, in 2 result rows)") !=
        std::string::npos);
  // With sds: inverse-variance weighted, a row without sd at the median variance (0.025): weights 100, 25, 40.
  std::ofstream(dir / "r.csv") << "variant,value,sd\nQ2A,1,0.1\nQ2A,2,0.2\nQ2A,4\n";
  o.out_dir = dir / "out_sd";
  run_agent(dir / "c.json", o);
  const auto with_sd = read_table(dir / "out_sd/scores.tsv", '\t');
  const auto q2a =
      std::find_if(with_sd.begin(), with_sd.end(), [&](const auto& row) { return row[mutations] == "Q2A"; });
  REQUIRE(q2a != with_sd.end());
  CHECK((*q2a)[measured] == fmt::format("{:.6f}", 310.0 / 165.0));
  // An odd count of sds: the median variance is the middle one (0.04 of 0.01, 0.04, 0.09), weights 100, 25, 100/9
  // and 25 for the row without sd.
  std::ofstream(dir / "r.csv") << "variant,value,sd\nQ2A,1,0.1\nQ2A,2,0.2\nQ2A,3,0.3\nQ2A,4\n";
  o.out_dir = dir / "out_odd";
  run_agent(dir / "c.json", o);
  const auto odd = read_table(dir / "out_odd/scores.tsv", '\t');
  const auto q2a_odd = std::find_if(odd.begin(), odd.end(), [&](const auto& row) { return row[mutations] == "Q2A"; });
  REQUIRE(q2a_odd != odd.end());
  CHECK((*q2a_odd)[measured] == fmt::format("{:.6f}", (100.0 + 50.0 + 100.0 / 3 + 100.0) / (150.0 + 100.0 / 9)));
  // Exact rows (sd 0), when there are any, alone make the mean.
  std::ofstream(dir / "r.csv") << "variant,value,sd\nQ2A,1,0\nQ2A,5,0.1\nQ2A,9\nQ2A,3,0\n";
  o.out_dir = dir / "out_exact";
  run_agent(dir / "c.json", o);
  const auto exact = read_table(dir / "out_exact/scores.tsv", '\t');
  const auto q2a_exact =
      std::find_if(exact.begin(), exact.end(), [&](const auto& row) { return row[mutations] == "Q2A"; });
  REQUIRE(q2a_exact != exact.end());
  CHECK((*q2a_exact)[measured] == "2.000000");
}

namespace {

// The example campaign from its first round: the example MSA, no results, no structure predictions.
nlohmann::json fresh_campaign() {
  auto campaign = nlohmann::json::parse(kfold::data::read_text_file(kCampaign));
  campaign["target"]["msa"] = (kCampaign.parent_path() / "ubiquitin.a3m").string();
  campaign["results"] = nlohmann::json::array();
  campaign["structure_budget"] = 0;
  return campaign;
}

}  // namespace

TEST_CASE("agent run: the surrogate fits each variant's replicates as one row") {
  // The same export added twice (or a plate measured twice): each replicate was a row, leave-one-out predicted
  // it from its twin, and the surrogate's error, lambda and plate changed. Its means are the same data.
  kfold::test::ScratchDir dir("agent-replicates");
  auto campaign = fresh_campaign();
  const auto round0 = (kCampaign.parent_path() / "ubiquitin_round0.csv").string();
  campaign["evolution"]["potts_iterations"] = 5;
  const auto run_with = [&](const nlohmann::json& results, const std::string& out) {
    campaign["results"] = results;
    return kfold::test::run_agent_round(dir.path(), campaign, out);
  };
  const auto [once_plate, once] = run_with({round0}, "once");
  // (Two files: one file listed twice is refused, tested in test_campaign.)
  std::filesystem::copy_file(round0, dir / "round0_again.csv");
  const auto [twice_plate, twice] = run_with({round0, (dir / "round0_again.csv").string()}, "twice");
  CHECK(twice["measurements"] == 2 * once["measurements"].get<int64_t>());  // result rows
  CHECK(twice["variants"] == once["variants"]);
  CHECK(once["lambda"].is_number());
  CHECK(twice["lambda"] == once["lambda"]);
  CHECK(twice_plate == once_plate);
}

TEST_CASE("agent run: measurements that are all equal fit no surrogate, the plate ranks by the zero-shot total") {
  // (A detection limit, or one value pasted down a column: the ensemble predicted that value with sd 0 for every
  // candidate, and the plate followed the table's order.)
  kfold::test::ScratchDir dir("agent-constant");
  auto campaign = fresh_campaign();
  campaign["evolution"]["potts_iterations"] = 5;
  std::ofstream(dir / "equal.csv") << "variant,value\n";
  for (const char* v : {"I44A", "L8A", "K63R", "V26A", "F45W", "I3A", "V5A", "L67A", "L69A"})
    std::ofstream(dir / "equal.csv", std::ios::app) << v << ",1.5\n";
  campaign["results"] = {(dir / "equal.csv").string()};
  std::ofstream(dir / "c.json") << campaign.dump();
  AgentOptions o;
  o.threads = 1;
  o.out_dir = dir / "out";
  const kfold::test::CapturedWarnings warnings;
  run_agent(dir / "c.json", o);
  CHECK(std::count_if(warnings.lines.begin(), warnings.lines.end(), [](const std::string& line) {
          return line.find("the 9 measured variants all have the value 1.5: nothing to learn") != std::string::npos;
        }) == 1);
  CHECK(kfold::data::read_text_file(dir / "out/report.md").find("No surrogate: the 9 measured variants all have") !=
        std::string::npos);
  CHECK(kfold::data::read_text_file(dir / "out/report.html")
            .find("Surrogate: none (the 9 measured variants all have the value 1.5)") != std::string::npos);
  const auto scores = read_table(dir / "out/scores.tsv", '\t');
  const size_t sd = column(scores[0], "sd");
  CHECK(std::any_of(scores.begin() + 1, scores.end(), [&](const auto& row) { return row[sd] != "0.000000"; }));
}

TEST_CASE("agent run: a plate without any variant is refused, not written with controls alone") {
  kfold::test::ScratchDir dir("agent-all-frozen");
  auto campaign = fresh_campaign();
  campaign["frozen"] = nlohmann::json::array();
  for (int r = 1; r <= static_cast<int>(kWildType.size()); ++r) campaign["frozen"].push_back(r);
  std::ofstream(dir / "c.json") << campaign.dump();
  AgentOptions o;
  o.out_dir = dir / "out";
  o.no_potts = true;
  CHECK_THROWS_WITH_AS(run_agent(dir / "c.json", o), doctest::Contains("no variant qualifies for the plate"),
                       kfold::InputError);
  CHECK(!std::filesystem::exists(dir / "out"));  // exit 0 with a plate of two wild-type wells before
}

TEST_CASE("agent run: hypothesis ids name one variant across the rounds of a campaign") {
  // Round 2 numbered its hypotheses from H0001 again: with results in between (new combinations, another
  // library), H0024 of round 2 was not round 1's H0024, and plates, notebook and structures of different
  // rounds shared ids.
  kfold::test::ScratchDir dir("agent-ids");
  auto campaign = fresh_campaign();
  std::ofstream(dir / "c.json") << campaign.dump();
  AgentOptions o;
  o.out_dir = dir / "out";
  o.threads = 2;
  o.no_potts = true;
  run_agent(dir / "c.json", o);
  std::ofstream(dir / "r1.csv") << "variant,value\nQ2A,0.3\nI3V,0.4\n";
  campaign["results"] = {(dir / "r1.csv").string()};
  std::ofstream(dir / "c.json") << campaign.dump();
  run_agent(dir / "c.json", o);
  std::map<std::string, std::string> variant_of;  // id -> mutations over both rounds
  std::map<int64_t, int64_t> records;
  std::istringstream nb(kfold::data::read_text_file(dir / "out/notebook.jsonl"));
  for (std::string line; std::getline(nb, line);) {
    const auto rec = nlohmann::json::parse(line);
    if (rec["type"] != "hypothesis") continue;
    const std::string id = rec["id"];
    const int64_t round = rec["round"];
    ++records[round];
    CHECK(id.rfind("R" + std::to_string(round) + "-H", 0) == 0);
    CHECK(variant_of.emplace(id, rec["mutations"]).second);  // never reused
  }
  CHECK(records.size() == 2u);
  CHECK(records[1] > 1000);
  // The plate and the report of round 2 carry its ids; the ids still read as <id>_<mutations> in file names.
  const auto plate = read_table(dir / "out/plate.csv", ',');
  for (size_t k = 1; k < plate.size(); ++k) {
    if (plate[k][7] == "control" || plate[k][7] == "blank") continue;
    CHECK(plate[k][1].rfind("R2-H", 0) == 0);
    CHECK(variant_of.at(plate[k][1]) == plate[k][2]);
  }
  CHECK(kfold::data::read_text_file(dir / "out/report.md").find("| R2-H") != std::string::npos);
}

TEST_CASE("agent outputs: numbers keep the digits of the campaign's unit (a Kd in molar is not 0.000000)") {
  using kfold::pipelines::agent::format_number;
  using kfold::pipelines::agent::output_decimals;
  CHECK(format_number(2.5) == "2.500000");
  CHECK(format_number(-0.004) == "-0.004000");
  CHECK(format_number(8.881784197001252e-16) == "0.000000");  // rounding noise near 0 in a campaign of unit scale
  CHECK(format_number(1.5e100) == "1.50000e+100");            // not a 101-digit number
  CHECK(format_number(std::nan("")) == "NA");
  kfold::pipelines::agent::Campaign campaign;
  CHECK(output_decimals(campaign) == 6);  // no measurements
  campaign.measurements.push_back({});
  campaign.measurements.back().value = 0.7;
  CHECK(output_decimals(campaign) == 6);
  campaign.measurements.back().value = 3.2e-9;  // molar: four significant digits
  CHECK(output_decimals(campaign) == 12);
  CHECK(format_number(3.2e-9, output_decimals(campaign)) == "0.000000003200");
  CHECK(output_decimals(campaign, 3) == 12);
  // The median decides: a tight binder among others keeps digits, one value near 0 among values of order 1
  // changes nothing.
  for (const double kd : {2e-6, 4.5e-10}) {
    campaign.measurements.push_back({});
    campaign.measurements.back().value = kd;
  }
  CHECK(format_number(4.5e-10, output_decimals(campaign)) == "0.000000000450");
  for (auto& m : campaign.measurements) m.value *= 1e8;  // 200, 0.32, 0.045
  campaign.measurements.push_back({});
  campaign.measurements.back().value = 2e-4;
  CHECK(output_decimals(campaign) == 6);
}
