// Tests for AlphaFold's raw feature construction: species identifiers, de-duplication, query
// checks. The full comparison against the AlphaFold reference pipeline is in
// tests/python/test_features.py (fixture from scripts/make_fixture_raw_features.py).
#include <doctest/doctest.h>

#include <cmath>

#include "data/a3m.hpp"
#include "data/error.hpp"
#include "data/residue_constants.hpp"
#include "data/structure_io.hpp"
#include "fold/complex_features.hpp"
#include "fold/raw_features.hpp"
#include "test_support.hpp"

using kfold::fold::make_raw_features;
using kfold::fold::species_identifier;

TEST_CASE("species_identifier follows AlphaFold's UniProt pattern") {
  CHECK(species_identifier("tr|A0A146SKV9|A0A146SKV9_FUNHE/1-76 Polyubiquitin") == "FUNHE");
  CHECK(species_identifier("sp|P62987|RL40_HUMAN Ubiquitin") == "HUMAN");
  CHECK(species_identifier("sp|Q9XYZ1_1|UBQ_YEAST/3-70") == "YEAST");  // isoform suffix ignored
  CHECK(species_identifier("tr|A0A1|SHORT_ABC") == "");                // accession too short
  CHECK(species_identifier("UniRef100_Q5XYZ0 n=1") == "");
  CHECK(species_identifier("tr|B2RZZ9|B2RZZ9_TOOLONG") == "");                    // species code > 5 chars
  CHECK(species_identifier("tr|A0A0B4J2F0|A0A0B4J2F0_9BILA_12 bfd") == "9BILA");  // BFD suffix ignored
  CHECK(species_identifier("tr|A0A0B4J2F0|A0A0B4J2F0_9BILA_x") == "");
  CHECK(species_identifier("sp|P62987_12|RL40_HUMAN") == "");  // isoform suffix is one digit
  CHECK(species_identifier("xx|P62987|RL40_HUMAN") == "");
  CHECK(species_identifier("sp|P62987|RL40_HUMAN|extra") == "");
  CHECK(species_identifier("") == "");
}

TEST_CASE("make_raw_features: one-hot aatype, HHblits msa ids, de-duplication across MSAs") {
  const kfold::data::Sequence query{"q", "", "ACXB"};
  const auto a = kfold::data::parse_a3m_string(">q\nACXB\n>h1\nA-DE\n>h2\nAkkCXD\n", "a.a3m");
  const auto b = kfold::data::parse_a3m_string(">q\nACXB\n>dup of h1\nA-DE\n>h3\nCCCC\n", "b.a3m");
  const auto f = make_raw_features(query, {a, b}, {"a.a3m", "b.a3m"});
  CHECK(f.n_res == 4);
  CHECK(f.n_seq == 4);  // q, h1, h2 from a; h3 from b (q and h1 repeated)
  // aatype: A=0, C=4, X and B → 20 (unknown) for the query.
  const std::vector<int> hot{0, 4, 20, 20};
  for (int i = 0; i < 4; ++i)
    for (int k = 0; k < 21; ++k) CHECK(f.aatype[i * 21 + k] == (k == hot[i] ? 1 : 0));
  // HHblits ids: A=0 C=1 D=2 E=3 X=20 gap=21; B→D(2) in MSA rows.
  CHECK(std::vector<int32_t>(f.msa.begin(), f.msa.begin() + 8) == std::vector<int32_t>{0, 1, 20, 2, 0, 21, 2, 3});
  CHECK(f.deletion_matrix_int[2 * 4 + 1] == 2);  // h2: "kk" before column 1
  CHECK(f.num_alignments == std::vector<int32_t>(4, 4));
  CHECK(f.seq_length == std::vector<int32_t>(4, 4));
  CHECK(f.residue_index == std::vector<int32_t>{0, 1, 2, 3});
}

TEST_CASE("make_raw_features: single-sequence mode and query mismatches") {
  const kfold::data::Sequence query{"q", "", "MKV"};
  const auto single = make_raw_features(query, {}, {});
  CHECK(single.n_seq == 1);
  CHECK(single.msa == std::vector<int32_t>{10, 8, 17});  // M K V in HHblits order
  const auto other = kfold::data::parse_a3m_string(">x\nMKI\n", "other.a3m");
  CHECK_THROWS_WITH_AS(make_raw_features(query, {other}, {"other.a3m"}),
                       doctest::Contains("other.a3m: the MSA's first row ('x') differs from the query"),
                       kfold::InputError);
  const auto longer = kfold::data::parse_a3m_string(">x\nMKVL\n", "long.a3m");
  CHECK_THROWS_WITH_AS(make_raw_features(query, {longer}, {"long.a3m"}),
                       doctest::Contains("long.a3m: MSA has 4 columns but the query has 3 residues"),
                       kfold::InputError);
}

TEST_CASE("raw features survive features.h5 round trip") {
  kfold::test::ScratchDir dir("raw_features_h5");
  const auto a = kfold::data::parse_a3m_string(">q desc\nMKV\n>sp|P62987|RL40_HUMAN x\nM-I\n", "a.a3m");
  const auto f = make_raw_features({"q", "desc", "MKV"}, {a}, {"a.a3m"});
  kfold::fold::write_raw_features(dir / "f.h5", f);
  const auto g = kfold::fold::read_raw_features(dir / "f.h5");
  CHECK(g.n_res == 3);
  CHECK(g.n_seq == 2);
  CHECK(g.aatype == f.aatype);
  CHECK(g.msa == f.msa);
  CHECK(g.deletion_matrix_int == f.deletion_matrix_int);
  CHECK(g.msa_species_identifiers == std::vector<std::string>{"", "HUMAN"});
  CHECK(g.sequence == "MKV");
  CHECK(g.domain_name == "q desc");  // the header line, as AlphaFold's pipeline
}

TEST_CASE("raw features from outside: residue_index must increase") {
  // Two residues of one number gave output structures that no reader takes (kfold's own included).
  const auto a = kfold::data::parse_a3m_string(">q\nMKV\n", "a.a3m");
  auto f = make_raw_features({"q", "", "MKV"}, {a}, {"a.a3m"});
  CHECK_NOTHROW(kfold::fold::check_raw_feature_values(f, "f.h5"));
  f.residue_index = {0, 5, 5};
  CHECK_THROWS_WITH_AS(kfold::fold::check_raw_feature_values(f, "f.h5"),
                       "f.h5: 'residue_index' must increase along the sequence (residue 3 is numbered 5 after 5): the "
                       "relative positions and the output structures' residue numbers come from it; number the "
                       "residues in order (a chain break: a jump, e.g. +200)",
                       kfold::InputError);
  f.residue_index = {0, 200, 201};  // a chain break
  CHECK_NOTHROW(kfold::fold::check_raw_feature_values(f, "f.h5"));
}

TEST_CASE("raw features from outside: row 0 of the MSA is the query") {
  // A mutation made in 'aatype' and 'sequence' alone (a notebook editing features) was predicted from a mix of the
  // old and the new sequence.
  const auto a = kfold::data::parse_a3m_string(">q\nMKVB\n>h\nMRV-\n", "a.a3m");
  auto f = make_raw_features({"q", "", "MKVB"}, {a}, {"a.a3m"});
  CHECK_NOTHROW(kfold::fold::check_raw_feature_values(f, "f.h5"));  // B: D in the MSA, X in aatype
  const int64_t k = kfold::data::rc::aatype_from_letter('K'), r = kfold::data::rc::aatype_from_letter('R');
  f.aatype[1 * 21 + static_cast<size_t>(k)] = 0;
  f.aatype[1 * 21 + static_cast<size_t>(r)] = 1;
  f.sequence = "MRVB";
  CHECK_THROWS_WITH_AS(kfold::fold::check_raw_feature_values(f, "f.h5"),
                       "f.h5: row 0 of 'msa' (the query's row) has 'K' at residue 2 where 'aatype' has 'R'; make "
                       "'msa' and 'deletion_matrix_int' from the same sequence (a mutation changes row 0 of 'msa' too)",
                       kfold::InputError);
  f.msa[1] = kfold::data::rc::hhblits_aa_to_id('R');  // row 0 edited too; row 1 (a homolog's R) is no matter
  CHECK_NOTHROW(kfold::fold::check_raw_feature_values(f, "f.h5"));
  f.msa[0] = kfold::data::rc::hhblits_aa_to_id('X');  // unknown in the MSA matches
  CHECK_NOTHROW(kfold::fold::check_raw_feature_values(f, "f.h5"));
  // An MSA's B and Z (D and E among HHblits ids) match only D and E: kfold's own features of such an MSA pass the
  // check they meet when read back, and a D->N or E->Q mutation made in aatype alone is still caught there.
  const auto bz = kfold::data::parse_a3m_string(">q\nMKBVAZC\n", "bz.a3m");
  CHECK_NOTHROW(kfold::fold::check_raw_feature_values(make_raw_features({"q", "", "MKDVAEC"}, {bz}, {"bz.a3m"}), "f"));
  CHECK_THROWS_WITH_AS(make_raw_features({"q", "", "MKNVAQC"}, {bz}, {"bz.a3m"}),
                       doctest::Contains("at residue 3 ('B' in the MSA, 'N' in the query)"), kfold::InputError);
  auto knockout = make_raw_features({"q", "", "MKDVAEC"}, {bz}, {"bz.a3m"});
  const int64_t d = kfold::data::rc::aatype_from_letter('D'), n = kfold::data::rc::aatype_from_letter('N');
  knockout.aatype[2 * 21 + static_cast<size_t>(d)] = 0;
  knockout.aatype[2 * 21 + static_cast<size_t>(n)] = 1;
  knockout.sequence = "MKNVAEC";
  CHECK_THROWS_WITH_AS(kfold::fold::check_raw_feature_values(knockout, "f.h5"),
                       doctest::Contains("has 'D' at residue 3 where 'aatype' has 'N'"), kfold::InputError);
  const auto sec = kfold::data::parse_a3m_string(">q\nMKU\n", "sec.a3m");
  CHECK_THROWS_WITH_AS(make_raw_features({"q", "", "MKK"}, {sec}, {"sec.a3m"}),
                       doctest::Contains("('U' in the MSA, 'K' in the query)"), kfold::InputError);
}

TEST_CASE("make_complex_raw_features: concatenated chains, residue-index gap, block-diagonal MSA") {
  kfold::fold::ChainInput a;
  a.sequence = {"A", "", "ACD"};
  kfold::data::Msa msa;
  msa.sequences = {"ACD", "AC-", "GCD"};
  msa.deletion_matrix = {{0, 0, 0}, {0, 2, 0}, {1, 0, 0}};
  msa.descriptions = {"A", "h1", "h2"};
  a.msa = msa;
  kfold::fold::ChainInput b;
  b.sequence = {"B", "", "KL"};
  const auto f = kfold::fold::make_complex_raw_features({a, b});
  CHECK(f.sequence == "ACDKL");
  CHECK(f.domain_name == "A_B");
  CHECK(f.residue_index == std::vector<int32_t>{0, 1, 2, 203, 204});  // chain B shifted by 200
  CHECK(f.asym_id == std::vector<int32_t>{1, 1, 1, 2, 2});            // AlphaFold-Multimer's chain ids
  CHECK(f.seq_length == std::vector<int32_t>(5, 5));
  REQUIRE(f.n_seq == 3);  // the joined query, then chain A's two rows with gaps over chain B
  // HHblits ids: A 0, C 1, D 2, G 5, K 8, L 9, gap 21.
  CHECK(std::vector<int32_t>(f.msa.begin(), f.msa.begin() + 5) == std::vector<int32_t>{0, 1, 2, 8, 9});
  CHECK(std::vector<int32_t>(f.msa.begin() + 5, f.msa.begin() + 10) == std::vector<int32_t>{0, 1, 21, 21, 21});
  CHECK(std::vector<int32_t>(f.msa.begin() + 10, f.msa.end()) == std::vector<int32_t>{5, 1, 2, 21, 21});
  CHECK(std::vector<int32_t>(f.deletion_matrix_int.begin() + 5, f.deletion_matrix_int.begin() + 10) ==
        std::vector<int32_t>{0, 2, 0, 0, 0});
  // A chain whose MSA is of another sequence, and an empty chain, are InputErrors naming the chain.
  a.msa->sequences.front() = "ACE";
  CHECK_THROWS_WITH_AS(kfold::fold::make_complex_raw_features({a, b}), doctest::Contains("chain 'A'"),
                       kfold::InputError);
  b.sequence.residues.clear();
  a.msa.reset();
  CHECK_THROWS_WITH_AS(kfold::fold::make_complex_raw_features({a, b}), doctest::Contains("chain 'B'"),
                       kfold::InputError);
}

TEST_CASE("make_raw_features: a cancelled build stops within 4096 rows") {
  // Python's Ctrl-C (kfold.features) cancels a token; the build of a deep MSA ran to its end before.
  const kfold::data::Sequence query{"q", "", "MKVL"};
  std::string a3m = ">q\nMKVL\n";
  for (int r = 0; r < 10000; ++r)
    a3m += ">r" + std::to_string(r) + "\n" + std::string(1, "ACDEFGHIKL"[r % 10]) +
           std::string(1, "ACDEFGHIKL"[(r / 10) % 10]) + std::string(1, "ACDEFGHIKL"[(r / 100) % 10]) + "L\n";
  const auto msa = kfold::data::parse_a3m_string(a3m, "deep.a3m");
  int calls = 0;
  struct Cancelled {};
  CHECK_THROWS_AS(make_raw_features(query, {msa}, {"deep.a3m"},
                                    [&calls] {
                                      if (++calls == 1) throw Cancelled{};
                                    }),
                  Cancelled);
  CHECK(calls == 1);
  CHECK(make_raw_features(query, {msa}, {"deep.a3m"}, [] {}).n_seq == 1001);  // 1000 distinct rows + the query
}

TEST_CASE("asym_id: kept by features.h5, chains must be consecutive, residue_index increasing over all chains") {
  kfold::test::ScratchDir dir("raw_features_asym_id");
  auto f = kfold::fold::make_raw_features({"AB", "", "ACDKL"}, {}, {});
  f.asym_id = {1, 1, 1, 2, 2};
  f.residue_index = {0, 1, 2, 203, 204};  // ColabFold's jump of 200 at the break
  kfold::fold::write_raw_features(dir / "f.h5", f);
  CHECK(kfold::fold::read_raw_features(dir / "f.h5").asym_id == f.asym_id);
  // AlphaFold-Multimer's numbering from 0 per chain: the monomer models would see the chains on top of each other.
  f.residue_index = {0, 1, 2, 0, 1};
  CHECK_THROWS_WITH_AS(kfold::fold::check_raw_feature_values(f, "f.h5"),
                       doctest::Contains("f.h5: 'residue_index' must increase"), kfold::InputError);
  f.residue_index = {0, 1, 2, 3, 4};
  f.asym_id = {1, 1, 2, 2, 1};
  CHECK_THROWS_WITH_AS(kfold::fold::check_raw_feature_values(f, "f.h5"),
                       doctest::Contains("'asym_id' 1 comes back at residue 5 after another chain"), kfold::InputError);
  f.asym_id = {1, 1, 2};
  CHECK_THROWS_WITH_AS(kfold::fold::check_raw_feature_values(f, "f.h5"),
                       doctest::Contains("'asym_id' has 3 values for 5 residues"), kfold::InputError);
}

TEST_CASE("raw features: boundaries of the species pattern, the MSA alphabet and residue numbers") {
  CHECK(species_identifier("tr|A0A0B4J2F0|A0A0B4J2F0_HUMAN") == "HUMAN");  // 10-letter accession
  CHECK(species_identifier("tr|A0A0B4J2F0X|A0A0B4J2F0_HUMAN").empty());    // 11 letters
  // Letters the model reads as X on either side match anything: B (Asx) in the query, D in the MSA.
  const auto asx = kfold::data::parse_a3m_string(">x\nMKD\n>h\nMKE\n", "asx.a3m");
  CHECK(make_raw_features({"q", "", "MKB"}, {asx}, {"asx.a3m"}).n_seq == 2);
  const auto sec = kfold::data::parse_a3m_string(">x\nMKU\n", "sec.a3m");
  CHECK(make_raw_features({"q", "", "MKC"}, {sec}, {"sec.a3m"}).n_seq == 1);

  const auto a = kfold::data::parse_a3m_string(">q\nMKV\n>h\nMRV\n", "a.a3m");
  const auto good = make_raw_features({"q", "", "MKV"}, {a}, {"a.a3m"});
  auto f = good;
  f.msa[3 + 1] = 21;  // the gap, the last HHblits id, in a homolog's row (row 0 is the query's)
  CHECK_NOTHROW(kfold::fold::check_raw_feature_values(f, "f.h5"));
  f.msa[3 + 1] = 22;
  CHECK_THROWS_WITH_AS(kfold::fold::check_raw_feature_values(f, "f.h5"),
                       doctest::Contains("'msa' has value 22 outside [0, 21]"), kfold::InputError);
  f = good;
  f.residue_index = {0, 1, static_cast<int32_t>(kfold::data::kMaxResidueNumber)};
  CHECK_THROWS_WITH_AS(kfold::fold::check_raw_feature_values(f, "f.h5"),
                       doctest::Contains("'residue_index' of residue 3 is"), kfold::InputError);
  f.residue_index = {static_cast<int32_t>(-kfold::data::kMaxResidueNumber), 1,
                     static_cast<int32_t>(kfold::data::kMaxResidueNumber - 1)};
  CHECK_NOTHROW(kfold::fold::check_raw_feature_values(f, "f.h5"));
  f = good;
  f.templates.n_templates = 1;
  f.templates.n_res = 3;
  f.templates.aatype.assign(3 * 22, 0.0f);
  f.templates.all_atom_masks.assign(3 * 37, 1.0f);
  f.templates.all_atom_positions.assign(3 * 37 * 3, 0.0f);
  f.templates.all_atom_positions[7] = std::nanf("");
  f.templates.sum_probs = {0.0f};
  CHECK_THROWS_WITH_AS(kfold::fold::check_raw_feature_values(f, "f.h5"),
                       doctest::Contains("'template_all_atom_positions' holds 1 NaN"), kfold::InputError);
}

TEST_CASE("features.h5: a sequence of another length than aatype is refused") {
  kfold::test::ScratchDir dir("raw_features_sequence");
  auto f = make_raw_features({"q", "", "MKV"}, {}, {});
  f.sequence = "MK";
  kfold::fold::write_raw_features(dir / "f.h5", f);
  CHECK_THROWS_WITH_AS(kfold::fold::read_raw_features(dir / "f.h5"),
                       doctest::Contains("'sequence' has 2 letters but 'aatype' has 3 rows"), kfold::InputError);
}
