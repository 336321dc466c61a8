// Fuzz harness: .npz archives (data/npz_file.hpp: zip directory, ZIP64, deflate, .npy headers). The
// input is written to a file, opened, and every array is read (CRC check, inflate, dtype conversion).
#include <numeric>

#include "data/error.hpp"
#include "data/npz_file.hpp"
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = kfold::fuzz::write_scratch("fuzz.npz", data, size);
  try {
    const kfold::data::NpzFile npz(path);
    for (const auto& array : npz.arrays()) {
      (void)npz.zero_copy(array);
      (void)npz.raw_bytes(array);
      if (kfold::data::is_float(array.dtype)) {
        const auto values = npz.read<float>(array.name);
        (void)std::accumulate(values.begin(), values.end(), 0.0f);  // touch every value
      } else {
        const auto values = npz.read<int64_t>(array.name);
        (void)std::accumulate(values.begin(), values.end(), int64_t{0}, [](int64_t a, int64_t b) { return a ^ b; });
      }
    }
  } catch (const kfold::Error&) {
    // Rejected with a message: what the reader should do with a bad archive.
  }
  return 0;
}
