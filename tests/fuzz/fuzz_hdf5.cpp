// Fuzz harness: HDF5 features/result files (data/hdf5_file.hpp: H5Reader over libhdf5). The input is
// written to a file, opened, listed, and every dataset is read by its kind (numbers, strings), as
// kfold inspect and the features readers do. libhdf5 is not instrumented: coverage is kfold's side.
#include <numeric>

#include "data/error.hpp"
#include "data/hdf5_file.hpp"
#include "fuzz_support.hpp"

using kfold::data::DType;

// libhdf5 1.10.8 leaks metadata-cache entries (allocated under H5AC_protect) on the error paths of some
// corrupt files: a library bug kfold cannot free. libhdf5 has no frame pointers, so the fast unwinder
// sees only its first frame: LeakSanitizer skips allocations made inside libhdf5 (kfold's own stay checked).
extern "C" const char* __lsan_default_suppressions() { return "leak:libhdf5\n"; }

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = kfold::fuzz::write_scratch("fuzz.h5", data, size);
  try {
    const kfold::data::H5Reader reader(path);
    (void)reader.attribute("kfold_warning");
    (void)reader.contains("aatype");
    (void)reader.contains("msa/deletion_matrix_int");
    for (const auto& info : reader.list()) {
      if (info.dtype == DType::string) {
        (void)reader.read_strings(info.name);
      } else if (kfold::data::is_float(info.dtype)) {
        const auto array = reader.read<float>(info.name);
        (void)std::accumulate(array.values.begin(), array.values.end(), 0.0f);
      } else if (kfold::data::is_integer(info.dtype)) {
        const auto array = reader.read<int64_t>(info.name);
        (void)std::accumulate(array.values.begin(), array.values.end(), int64_t{0},
                              [](int64_t a, int64_t b) { return a ^ b; });
      }
    }
  } catch (const kfold::Error&) {
    // Rejected with a message: what the reader should do with a bad file.
  }
  return 0;
}
