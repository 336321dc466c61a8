// Fuzz harness: the campaign file of kfold agent (pipelines/agent/campaign.hpp, JSON). The input is
// the JSON text of a campaign in a scratch folder that holds the files a campaign may name:
// target.a3m (the alignment), round0.csv (results) and library.csv (the variant library).
#include "data/error.hpp"
#include "fuzz_support.hpp"
#include "pipelines/agent/campaign.hpp"

namespace {

// The files next to the campaign, written once per process.
const std::filesystem::path& campaign_dir() {
  static const std::filesystem::path dir = [] {
    using kfold::fuzz::write_scratch;
    write_scratch("campaign/target.a3m",
                  ">UBQ_HUMAN\nMQIFVKTLTGKTITLEVEPSDTIENVKAKIQDKEGIPPDQQRLIFAGKQLEDGRTLSDYNIQKESTLHLVLRLRGG\n");
    write_scratch("campaign/round0.csv", "variant,value,sd\nI44A,-1.2,0.2\nL8A,-0.4,\nK63R:I44A,0.05,0.1\n");
    write_scratch("campaign/library.csv", "variant\nI44A\nL8A\nK63R\nWT\n");
    return kfold::fuzz::scratch_dir() / "campaign";
  }();
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    (void)kfold::pipelines::agent::parse_campaign(kfold::fuzz::as_text(data, size), campaign_dir() / "campaign.json");
  } catch (const kfold::Error&) {
    // Rejected with a message naming the field: what the reader should do with a bad campaign.
  }
  return 0;
}
