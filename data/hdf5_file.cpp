// H5Writer / H5Reader over the HDF5 C API. HDF5's own error printing is silenced; every
// failure becomes an InputError or RuntimeError naming the file and dataset. The serial
// HDF5 library is not thread-safe, so every call here holds one process-wide lock.
#include "data/hdf5_file.hpp"

#include <hdf5.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <mutex>
#include <type_traits>
#include <utility>

#include "data/error.hpp"
#include "data/header_text.hpp"
#include "data/host_memory.hpp"

namespace kfold::data {

namespace fs = std::filesystem;

struct HdfHandle {
  hid_t id = H5I_INVALID_HID;
  herr_t (*close)(hid_t) = nullptr;
  HdfHandle(hid_t i, herr_t (*c)(hid_t)) : id(i), close(c) {}
  ~HdfHandle() {
    if (id >= 0 && close) close(id);
  }
  HdfHandle(const HdfHandle&) = delete;
  HdfHandle& operator=(const HdfHandle&) = delete;
};

namespace {

std::recursive_mutex& hdf5_mutex() {
  static std::recursive_mutex mutex;
  return mutex;
}

void silence_hdf5_errors() {
  static std::once_flag once;
  std::call_once(once, [] {
    // A file whose flush failed (disk full, file-size limit) cannot be closed, and HDF5 1.10's own
    // atexit cleanup then crashes on it; the process closes every file descriptor anyway.
    H5dont_atexit();
  });
  // A thread-safe libhdf5 keeps one error stack, and its printing switch, per thread: every thread that
  // reads or writes (the Python module runs each call on a new one) turns the printing off for itself.
  thread_local bool silenced = false;
  if (!std::exchange(silenced, true)) H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
}

// Scoped hid_t.
class Id {
 public:
  Id(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  ~Id() {
    if (id_ >= 0) close_(id_);
  }
  Id(const Id&) = delete;
  Id& operator=(const Id&) = delete;
  hid_t get() const { return id_; }
  bool ok() const { return id_ >= 0; }

 private:
  hid_t id_;
  herr_t (*close_)(hid_t);
};

hid_t native_type(DType dtype) {
  switch (dtype) {
    case DType::float32:
      return H5T_NATIVE_FLOAT;
    case DType::float64:
      return H5T_NATIVE_DOUBLE;
    case DType::int8:
      return H5T_NATIVE_INT8;
    case DType::uint8:
      return H5T_NATIVE_UINT8;
    case DType::int16:
      return H5T_NATIVE_INT16;
    case DType::int32:
      return H5T_NATIVE_INT32;
    case DType::int64:
      return H5T_NATIVE_INT64;
    case DType::uint32:
      return H5T_NATIVE_UINT32;
    case DType::uint64:
      return H5T_NATIVE_UINT64;
    case DType::uint16:
      return H5T_NATIVE_UINT16;
    case DType::bool_:
      return H5T_NATIVE_UINT8;
    default:
      break;
  }
  fail_runtime("internal error: no HDF5 type for {}", dtype_name(dtype));
}

DType dtype_of_h5(hid_t type) {
  const H5T_class_t cls = H5Tget_class(type);
  const size_t size = H5Tget_size(type);
  if (cls == H5T_FLOAT)
    return size == 2 ? DType::float16 : size == 4 ? DType::float32 : size == 8 ? DType::float64 : DType::other;
  if (cls == H5T_STRING) return DType::string;
  if (cls == H5T_INTEGER) {
    const bool is_signed = H5Tget_sign(type) == H5T_SGN_2;
    switch (size) {
      case 1:
        return is_signed ? DType::int8 : DType::uint8;
      case 2:
        return is_signed ? DType::int16 : DType::uint16;
      case 4:
        return is_signed ? DType::int32 : DType::uint32;
      case 8:
        return is_signed ? DType::int64 : DType::uint64;
      default:
        return DType::other;
    }
  }
  return DType::other;
}

std::string trim_slash(std::string_view name) {
  while (!name.empty() && name.front() == '/') name.remove_prefix(1);
  return std::string(name);
}

// Before allocating a dataset's values: they must be in the file. Unfiltered layouts store every byte,
// deflate and the other built-in filters expand at most 1032:1; virtual and external datasets (values in
// other files) are refused. A corrupt or crafted header would otherwise make us allocate terabytes.
void check_stored(hid_t dset, const std::string& file, const DatasetInfo& info) {
  Id dcpl(H5Dget_create_plist(dset), H5Pclose);
  Id type(H5Dget_type(dset), H5Tclose);
  if (!dcpl.ok() || !type.ok()) fail_input("{}: dataset '{}' has an unreadable layout or type", file, info.name);
  if (H5Pget_layout(dcpl.get()) == H5D_VIRTUAL || H5Pget_external_count(dcpl.get()) != 0)
    fail_input(
        "{}: dataset '{}' keeps its values in other files (virtual or external storage); kfold reads only "
        "values stored in the file itself",
        file, info.name);
  int64_t need = static_cast<int64_t>(H5Tget_size(type.get()));
  if (__builtin_mul_overflow(need, info.numel(), &need)) need = INT64_MAX;
  const auto stored = static_cast<int64_t>(H5Dget_storage_size(dset));
  const int64_t can_hold = H5Pget_nfilters(dcpl.get()) > 0 ? stored * 1032 + (int64_t{1} << 20) : stored;
  if (need > can_hold)
    fail_input(
        "{}: dataset '{}' has shape {} ({} bytes) but the file stores {} bytes of it (unwritten, truncated or "
        "corrupt file?)",
        file, info.name, shape_string(info.shape), need, stored);
  // Compressed values may still inflate to more than the memory left (a features file of millions of MSA rows).
  check_host_memory(need, fmt::format("{}: dataset '{}' (shape {})", file, info.name, shape_string(info.shape)),
                    "read it where more memory is available, or make it from a smaller input (fewer MSA rows)");
}

}  // namespace

int64_t DatasetInfo::numel() const {
  int64_t n = 1;
  for (const int64_t s : shape) n *= s;
  return n;
}

bool is_hdf5_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::array<char, 8> magic{};
  in.read(magic.data(), magic.size());
  return in.gcount() == 8 && std::memcmp(magic.data(), "\x89HDF\r\n\x1a\n", 8) == 0;
}

// ---------------------------------------------------------------- writer

namespace {

// File access without HDF5's file locks: where flock fails (NFS without lockd, Lustre mounted without flock:
// ENOLCK) every open failed, read as a corrupt file or a full disk. kfold needs no lock: it writes to a
// temporary name and renames, so no reader ever opens a file being written.
hid_t unlocked_file_access() {
  const hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  if (fapl >= 0) H5Pset_file_locking(fapl, false, true);
  return fapl;
}

// Datasets without modification times, so that the same arrays make the same bytes (a rerun's
// features.h5 or result_<model>.h5 compares equal with cmp).
hid_t untimed_dataset_options() {
  const hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  if (dcpl >= 0) H5Pset_obj_track_times(dcpl, false);
  return dcpl;
}

// The groups above dataset `key` ("a/b/x": a, a/b), created without modification times where missing.
void create_parent_groups(hid_t file, const std::string& key) {
  Id gcpl(H5Pcreate(H5P_GROUP_CREATE), H5Pclose);
  H5Pset_obj_track_times(gcpl.get(), false);
  for (size_t slash = key.find('/'); slash != std::string::npos; slash = key.find('/', slash + 1)) {
    const std::string group = key.substr(0, slash);
    if (H5Lexists(file, group.c_str(), H5P_DEFAULT) > 0) continue;
    Id created(H5Gcreate2(file, group.c_str(), H5P_DEFAULT, gcpl.get(), H5P_DEFAULT), H5Gclose);
  }
}

// Why an HDF5 call that writes the file failed: the system's error when the call left a write error in errno
// (cleared before it; other codes may come from HDF5's own probing), else the likely cause. (An EIO was
// reported as "disk full".)
std::string write_failure(int err) {
  const bool no_room = err == ENOSPC || err == EFBIG || err == EDQUOT;
  if (!no_room && err != EIO && err != EROFS && err != EACCES && err != EPERM) return "disk full or file size limit?";
  return fmt::format("{}{}", std::strerror(err), no_room ? " (disk full or file size limit)" : "");
}

}  // namespace

H5Writer::H5Writer(const fs::path& path) : path_(path), output_(path) {
  std::lock_guard lock(hdf5_mutex());
  silence_hdf5_errors();
  errno = 0;
  const Id fapl(unlocked_file_access(), H5Pclose);
  // Past names something already has (HDF5 first opens an existing name read-write, a link to a device too),
  // then H5F_ACC_EXCL: O_EXCL, so a file or link put there since is never written either.
  while (output_.temp_name_taken()) {
  }
  hid_t id;
  do {
    errno = 0;
    id = H5Fcreate(output_.temp_path().c_str(), H5F_ACC_EXCL, H5P_DEFAULT, fapl.get());
  } while (id < 0 && errno == EEXIST && output_.temp_name_taken());
  if (id < 0 && errno == EEXIST) {
    output_.temp_not_made();
    fail_runtime("{}: cannot create its temporary file: the names tried ({} the last) all exist", path_.string(),
                 output_.temp_path().string());
  }
  if (id < 0) fail_runtime("{}: cannot create HDF5 file: {}", path_.string(), write_failure(errno));
  file_ = std::make_unique<HdfHandle>(id, H5Fclose);
}

H5Writer::~H5Writer() {
  std::lock_guard lock(hdf5_mutex());
  file_.reset();
}

void H5Writer::write_raw(std::string_view name, DType dtype, const void* data, std::span<const int64_t> shape) {
  std::lock_guard lock(hdf5_mutex());
  if (!file_) fail_runtime("{}: write after commit", path_.string());
  std::vector<hsize_t> dims(shape.begin(), shape.end());
  Id space(
      shape.empty() ? H5Screate(H5S_SCALAR) : H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr),
      H5Sclose);
  Id lcpl(H5Pcreate(H5P_LINK_CREATE), H5Pclose);
  H5Pset_create_intermediate_group(lcpl.get(), 1);
  const std::string key = trim_slash(name);
  create_parent_groups(file_->id, key);
  const Id dcpl(untimed_dataset_options(), H5Pclose);
  Id dset(H5Dcreate2(file_->id, key.c_str(), native_type(dtype), space.get(), lcpl.get(), dcpl.get(), H5P_DEFAULT),
          H5Dclose);
  if (!dset.ok()) fail_runtime("{}: cannot create dataset '{}' (duplicate name?)", path_.string(), key);
  errno = 0;
  if (H5Dwrite(dset.get(), native_type(dtype), H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0)
    fail_runtime("{}: writing dataset '{}' failed: {}", path_.string(), key, write_failure(errno));
}

template <typename T>
void H5Writer::write(std::string_view name, std::span<const T> values, std::span<const int64_t> shape) {
  int64_t n = 1;
  for (const int64_t s : shape) n *= s;
  if (n != static_cast<int64_t>(values.size()))
    fail_runtime("internal error: dataset '{}' has {} values for shape {}", name, values.size(), shape_string(shape));
  write_raw(name, dtype_of<T>(), values.data(), shape);
}

void H5Writer::write_strings(std::string_view name, const std::vector<std::string>& values, bool scalar) {
  std::lock_guard lock(hdf5_mutex());
  if (!file_) fail_runtime("{}: write after commit", path_.string());
  if (scalar && values.size() != 1) fail_runtime("internal error: scalar string '{}' needs one value", name);
  const hsize_t n = values.size();
  Id space(scalar ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &n, nullptr), H5Sclose);
  Id type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(type.get(), H5T_VARIABLE);
  H5Tset_cset(type.get(), H5T_CSET_UTF8);
  Id lcpl(H5Pcreate(H5P_LINK_CREATE), H5Pclose);
  H5Pset_create_intermediate_group(lcpl.get(), 1);
  const std::string key = trim_slash(name);
  create_parent_groups(file_->id, key);
  const Id dcpl(untimed_dataset_options(), H5Pclose);
  Id dset(H5Dcreate2(file_->id, key.c_str(), type.get(), space.get(), lcpl.get(), dcpl.get(), H5P_DEFAULT), H5Dclose);
  if (!dset.ok()) fail_runtime("{}: cannot create dataset '{}' (duplicate name?)", path_.string(), key);
  // The type says UTF-8: bytes that are none (a Windows-1252 FASTA header) become '?', or h5py's asstr() and
  // other readers fail on the whole dataset.
  std::vector<std::string> texts;
  texts.reserve(values.size());
  for (const auto& v : values) texts.push_back(valid_utf8_text(v));
  std::vector<const char*> ptrs;
  ptrs.reserve(texts.size());
  for (const auto& v : texts) ptrs.push_back(v.c_str());
  errno = 0;
  if (H5Dwrite(dset.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()) < 0)
    fail_runtime("{}: writing dataset '{}' failed: {}", path_.string(), key, write_failure(errno));
}

void H5Writer::set_attribute(std::string_view key, const std::string& value) {
  std::lock_guard lock(hdf5_mutex());
  if (!file_) fail_runtime("{}: write after commit", path_.string());
  Id space(H5Screate(H5S_SCALAR), H5Sclose);
  Id type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(type.get(), H5T_VARIABLE);
  H5Tset_cset(type.get(), H5T_CSET_UTF8);
  const std::string k(key);
  if (H5Aexists(file_->id, k.c_str()) > 0) H5Adelete(file_->id, k.c_str());
  Id attr(H5Acreate2(file_->id, k.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  const std::string text = valid_utf8_text(value);
  const char* ptr = text.c_str();
  if (!attr.ok() || H5Awrite(attr.get(), type.get(), &ptr) < 0)
    fail_runtime("{}: cannot write attribute '{}'", path_.string(), k);
}

void H5Writer::commit() {
  {
    std::lock_guard lock(hdf5_mutex());
    if (!file_) fail_runtime("{}: committed twice", path_.string());
    errno = 0;
    if (H5Fflush(file_->id, H5F_SCOPE_GLOBAL) < 0)
      fail_runtime("{}: flushing HDF5 file failed: {}", path_.string(), write_failure(errno));
    const hid_t id = file_->id;
    file_->id = H5I_INVALID_HID;
    file_.reset();
    errno = 0;
    if (H5Fclose(id) < 0) fail_runtime("{}: closing HDF5 file failed: {}", path_.string(), write_failure(errno));
  }
  output_.commit();
}

// ---------------------------------------------------------------- reader

H5Reader::H5Reader(const fs::path& path) : path_(path) {
  std::lock_guard lock(hdf5_mutex());
  silence_hdf5_errors();
  std::error_code ec;
  if (!fs::exists(path, ec)) fail_input("{}: file not found; check the path", path.string());
  if (fs::is_directory(path, ec)) fail_input("{}: is a directory, expected an HDF5 file", path.string());
  if (!is_hdf5_file(path)) fail_input("{}: not an HDF5 file (no HDF5 signature)", path.string());
  const Id fapl(unlocked_file_access(), H5Pclose);
  const hid_t id = H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl.get());
  if (id < 0) fail_input("{}: cannot open HDF5 file (truncated or corrupt?)", path.string());
  file_ = std::make_unique<HdfHandle>(id, H5Fclose);
}

H5Reader::~H5Reader() {
  std::lock_guard lock(hdf5_mutex());
  file_.reset();
}

bool H5Reader::contains(std::string_view name) const {
  std::lock_guard lock(hdf5_mutex());
  const std::string key = trim_slash(name);
  // Check each path component so a missing group does not count as an error.
  size_t pos = 0;
  while (true) {
    pos = key.find('/', pos);
    const std::string prefix = key.substr(0, pos);
    if (H5Lexists(file_->id, prefix.c_str(), H5P_DEFAULT) <= 0) return false;
    // An external link (h5py.ExternalLink) would be followed into another file, which check_stored refuses for
    // the values themselves.
    H5L_info_t link;
    if (H5Lget_info(file_->id, prefix.c_str(), &link, H5P_DEFAULT) < 0 ||
        (link.type != H5L_TYPE_HARD && link.type != H5L_TYPE_SOFT))
      fail_input(
          "{}: '{}' is a link to another file (an external link); kfold reads only values stored in the file itself: "
          "copy its values in",
          path_.string(), prefix);
    if (pos == std::string::npos) break;
    ++pos;
  }
  Id obj(H5Oopen(file_->id, key.c_str(), H5P_DEFAULT), H5Oclose);
  return obj.ok() && H5Iget_type(obj.get()) == H5I_DATASET;
}

DatasetInfo H5Reader::info(std::string_view name) const {
  std::lock_guard lock(hdf5_mutex());
  const std::string key = trim_slash(name);
  if (!contains(key)) fail_input("{}: dataset '{}' is missing", path_.string(), key);
  Id dset(H5Dopen2(file_->id, key.c_str(), H5P_DEFAULT), H5Dclose);
  Id space(H5Dget_space(dset.get()), H5Sclose);
  Id type(H5Dget_type(dset.get()), H5Tclose);
  DatasetInfo info;
  info.name = key;
  info.dtype = dtype_of_h5(type.get());
  const int rank = H5Sget_simple_extent_ndims(space.get());
  if (rank < 0) fail_input("{}: dataset '{}' has an unreadable shape", path_.string(), key);
  std::vector<hsize_t> dims(static_cast<size_t>(rank));
  H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  int64_t numel = 1;
  for (const hsize_t d : dims)
    if (d > static_cast<hsize_t>(INT64_MAX) || __builtin_mul_overflow(numel, static_cast<int64_t>(d), &numel))
      fail_input("{}: dataset '{}' has more elements than fit in 64 bits (corrupt file?)", path_.string(), key);
  info.shape.assign(dims.begin(), dims.end());
  return info;
}

std::vector<DatasetInfo> H5Reader::list() const {
  std::lock_guard lock(hdf5_mutex());
  std::vector<std::string> names;
  auto visit = [](hid_t, const char* name, const H5L_info_t*, void* data) -> herr_t {
    static_cast<std::vector<std::string>*>(data)->emplace_back(name);
    return 0;
  };
  H5Lvisit(file_->id, H5_INDEX_NAME, H5_ITER_INC, visit, &names);
  std::vector<DatasetInfo> out;
  for (const auto& n : names)
    if (contains(n)) out.push_back(info(n));  // (contains refuses a link to another file before opening it)
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return out;
}

void H5Reader::read_raw(std::string_view name, DType dtype, void* out) const {
  const std::string key = trim_slash(name);
  Id dset(H5Dopen2(file_->id, key.c_str(), H5P_DEFAULT), H5Dclose);
  if (H5Dread(dset.get(), native_type(dtype), H5S_ALL, H5S_ALL, H5P_DEFAULT, out) < 0)
    fail_input("{}: dataset '{}' could not be read (truncated or corrupt file?)", path_.string(), key);
}

template <typename T>
Array<T> H5Reader::read(std::string_view name, std::vector<int64_t> expected_shape) const {
  std::lock_guard lock(hdf5_mutex());
  const DatasetInfo di = info(name);
  const DType want = dtype_of<T>();
  const bool kind_ok = (is_float(want) && is_float(di.dtype)) || (is_integer(want) && is_integer(di.dtype));
  if (!kind_ok)
    fail_input("{}: dataset '{}' has dtype {}, expected {}", path_.string(), di.name, dtype_name(di.dtype),
               dtype_name(want));
  if (!shape_matches(di.shape, expected_shape)) {
    fail_input("{}: dataset '{}' has shape {}, expected {} (-1: any size)", path_.string(), di.name,
               shape_string(di.shape), shape_string(expected_shape));
  }
  {
    Id dset(H5Dopen2(file_->id, di.name.c_str(), H5P_DEFAULT), H5Dclose);
    check_stored(dset.get(), path_.string(), di);
  }
  Array<T> out;
  out.shape = di.shape;
  out.values.resize(static_cast<size_t>(di.numel()));
  if (out.values.empty()) return out;
  if constexpr (std::is_integral_v<T>) {
    // HDF5 converts a wider or differently signed integer by clamping (2^33 + 7 read as int32 gave 2147483647):
    // read the stored values whole, then each must fit.
    if (di.dtype != want && di.dtype != DType::bool_) {
      const auto narrow = [&](auto wide) {
        wide.resize(out.values.size());
        read_raw(di.name, dtype_of<typename decltype(wide)::value_type>(), wide.data());
        for (size_t k = 0; k < wide.size(); ++k) {
          if (!std::in_range<T>(wide[k]))
            fail_input("{}: dataset '{}' holds {} (element {}), which does not fit {} (stored as {})", path_.string(),
                       di.name, wide[k], k, dtype_name(want), dtype_name(di.dtype));
          out.values[k] = static_cast<T>(wide[k]);
        }
      };
      if (di.dtype == DType::uint64)
        narrow(std::vector<uint64_t>());
      else
        narrow(std::vector<int64_t>());
      return out;
    }
  }
  read_raw(di.name, want, out.values.data());
  return out;
}

template <typename T>
T H5Reader::read_scalar(std::string_view name) const {
  Array<T> a = read<T>(name);
  if (a.values.size() != 1)
    fail_input("{}: dataset '{}' has shape {}, expected a single value", path_.string(), trim_slash(name),
               shape_string(a.shape));
  return a.values[0];
}

std::vector<std::string> H5Reader::read_strings(std::string_view name) const {
  std::lock_guard lock(hdf5_mutex());
  const DatasetInfo di = info(name);
  if (di.dtype != DType::string)
    fail_input("{}: dataset '{}' has dtype {}, expected string", path_.string(), di.name, dtype_name(di.dtype));
  Id dset(H5Dopen2(file_->id, di.name.c_str(), H5P_DEFAULT), H5Dclose);
  check_stored(dset.get(), path_.string(), di);
  Id ftype(H5Dget_type(dset.get()), H5Tclose);
  const size_t n = static_cast<size_t>(di.numel());
  std::vector<std::string> out;
  if (H5Tis_variable_str(ftype.get()) > 0) {
    Id mtype(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(mtype.get(), H5T_VARIABLE);
    H5Tset_cset(mtype.get(), H5Tget_cset(ftype.get()));  // HDF5 does not convert between charsets
    std::vector<char*> ptrs(n, nullptr);
    if (H5Dread(dset.get(), mtype.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()) < 0)
      fail_input("{}: dataset '{}' could not be read", path_.string(), di.name);
    for (char* p : ptrs) out.emplace_back(p ? p : "");
    Id space(H5Dget_space(dset.get()), H5Sclose);
    H5Dvlen_reclaim(mtype.get(), space.get(), H5P_DEFAULT, ptrs.data());
  } else {
    // Fixed-length strings (numpy 'S' arrays written by h5py): NUL-padded.
    const size_t width = H5Tget_size(ftype.get());
    std::vector<char> buf(n * width);
    if (H5Dread(dset.get(), ftype.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data()) < 0)
      fail_input("{}: dataset '{}' could not be read", path_.string(), di.name);
    for (size_t i = 0; i < n; ++i) out.emplace_back(buf.data() + i * width, strnlen(buf.data() + i * width, width));
  }
  return out;
}

std::string H5Reader::read_string(std::string_view name) const {
  auto values = read_strings(name);
  if (values.size() != 1)
    fail_input("{}: dataset '{}' holds {} strings, expected one", path_.string(), name, values.size());
  return values[0];
}

std::string H5Reader::attribute(std::string_view key) const {
  std::lock_guard lock(hdf5_mutex());
  const std::string k(key);
  if (H5Aexists(file_->id, k.c_str()) <= 0) return "";
  Id attr(H5Aopen(file_->id, k.c_str(), H5P_DEFAULT), H5Aclose);
  Id ftype(H5Aget_type(attr.get()), H5Tclose);
  if (H5Tget_class(ftype.get()) != H5T_STRING) return "";
  if (H5Tis_variable_str(ftype.get()) > 0) {
    char* ptr = nullptr;
    Id mtype(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(mtype.get(), H5T_VARIABLE);
    H5Tset_cset(mtype.get(), H5Tget_cset(ftype.get()));
    if (H5Aread(attr.get(), mtype.get(), &ptr) < 0 || !ptr) return "";
    std::string value(ptr);
    H5free_memory(ptr);
    return value;
  }
  std::vector<char> buf(H5Tget_size(ftype.get()));
  if (H5Aread(attr.get(), ftype.get(), buf.data()) < 0) return "";
  return std::string(buf.data(), strnlen(buf.data(), buf.size()));
}

// Explicit instantiations for the element types kfold stores.
#define KFOLD_H5_INSTANTIATE(T)                                                                     \
  template void H5Writer::write<T>(std::string_view, std::span<const T>, std::span<const int64_t>); \
  template Array<T> H5Reader::read<T>(std::string_view, std::vector<int64_t>) const;                \
  template T H5Reader::read_scalar<T>(std::string_view) const;
KFOLD_H5_INSTANTIATE(float)
KFOLD_H5_INSTANTIATE(double)
KFOLD_H5_INSTANTIATE(int8_t)
KFOLD_H5_INSTANTIATE(uint8_t)
KFOLD_H5_INSTANTIATE(int32_t)
KFOLD_H5_INSTANTIATE(int64_t)
#undef KFOLD_H5_INSTANTIATE

}  // namespace kfold::data
