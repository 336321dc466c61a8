// Fuzz harness: the CSV files a campaign names (pipelines/agent/campaign.cpp): the input is written as
// fuzz.csv and read once as a results file (`variant,value[,sd]`) and once as the variant library,
// each through parse_campaign with a fixed campaign (human ubiquitin, first residue 1).
#include <string>

#include "data/error.hpp"
#include "fuzz_support.hpp"
#include "pipelines/agent/campaign.hpp"

namespace {

const std::string kTarget =
    R"("target": {"id": "UBQ", "sequence": "MQIFVKTLTGKTITLEVEPSDTIENVKAKIQDKEGIPPDQQRLIFAGKQLEDGRTLSDYNIQKESTLHLVLRLRGG",
                  "msa": "target.a3m"})";
const std::string kResultsCampaign = R"({"name": "fuzz", )" + kTarget + R"(, "results": ["fuzz.csv"]})";
const std::string kLibraryCampaign =
    R"({"name": "fuzz", )" + kTarget + R"(, "max_mutations": 3, "library": "fuzz.csv"})";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto msa = kfold::fuzz::write_scratch(
      "csv/target.a3m", ">UBQ\nMQIFVKTLTGKTITLEVEPSDTIENVKAKIQDKEGIPPDQQRLIFAGKQLEDGRTLSDYNIQKESTLHLVLRLRGG\n");
  const auto dir = msa.parent_path();
  kfold::fuzz::write_scratch("csv/fuzz.csv", data, size);
  for (const std::string* json : {&kResultsCampaign, &kLibraryCampaign}) {
    try {
      (void)kfold::pipelines::agent::parse_campaign(*json, dir / "campaign.json");
    } catch (const kfold::Error&) {
      // Rejected with a message naming file and line: what the reader should do with a bad CSV.
    }
  }
  return 0;
}
