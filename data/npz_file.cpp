// NpzFile: zip directory (with ZIP64) → member offsets; .npy header parsing; stored members are
// viewed in the mapping, deflated ones are inflated with zlib; CRC-32 checked on first use.
#include "data/npz_file.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <mutex>
#include <type_traits>
#include <utility>

#include "data/error.hpp"
#include "data/host_memory.hpp"

namespace kfold::data {

namespace {

constexpr uint32_t kLocalHeader = 0x04034b50;
constexpr uint32_t kCentralHeader = 0x02014b50;
constexpr uint32_t kEndOfDirectory = 0x06054b50;
constexpr uint32_t kZip64Locator = 0x07064b50;
constexpr uint32_t kZip64End = 0x06064b50;
constexpr int64_t kMaxNpyHeadBytes = 65536;  // the most of a member's start read for its .npy header

// Little-endian reads with bounds checks against the mapping.
class Cursor {
 public:
  Cursor(const std::byte* base, int64_t size, const std::string& file) : base_(base), size_(size), file_(file) {}
  template <typename T>
  T at(int64_t offset) const {
    if (offset < 0 || offset > size_ - static_cast<int64_t>(sizeof(T))) truncated();
    T value{};
    std::memcpy(&value, base_ + offset, sizeof(T));  // x86-64 and aarch64 are little-endian
    return value;
  }
  std::string_view text(int64_t offset, int64_t n) const {
    if (offset < 0 || n < 0 || offset > size_ || n > size_ - offset) truncated();
    return {reinterpret_cast<const char*>(base_ + offset), static_cast<size_t>(n)};
  }
  [[noreturn]] void truncated() const {
    fail_input("{}: truncated or corrupt zip archive (a record points past the end of the file)", file_);
  }
  [[noreturn]] void corrupt(std::string_view why) const { fail_input("{}: corrupt zip archive: {}", file_, why); }

 private:
  const std::byte* base_;
  int64_t size_;
  const std::string& file_;
};

struct NpyHeader {
  DType dtype = DType::other;
  std::string numpy_dtype;  // numpy's descr when dtype is other (strings '|S5', '<U3', objects '|O')
  bool big_endian = false;
  bool fortran_order = false;
  std::vector<int64_t> shape;
  int64_t data_offset = 0;
};

// Value of `key` in the .npy header dict, e.g. 'descr': '<f4' → "'<f4'", without the blanks around it. A key
// given twice is an InputError naming `where` (numpy takes the last, a reader taking the first would read
// other values than numpy from the same file).
std::string_view header_value(std::string_view dict, std::string_view key, const std::string& where) {
  const std::string quoted = "'" + std::string(key) + "'";
  size_t p = dict.find(quoted);
  if (p == std::string_view::npos) return {};
  if (dict.find(quoted, p + quoted.size()) != std::string_view::npos)
    fail_input("{}: invalid .npy header: '{}' is given twice", where, key);
  p = dict.find(':', p + quoted.size());
  if (p == std::string_view::npos) return {};
  ++p;
  while (p < dict.size() && dict[p] == ' ') ++p;
  size_t end = p;
  if (end < dict.size() && dict[end] == '(') {
    end = dict.find(')', end);
    return end == std::string_view::npos ? std::string_view{} : dict.substr(p, end - p + 1);
  }
  if (end < dict.size() && dict[end] == '\'') {
    end = dict.find('\'', end + 1);
    return end == std::string_view::npos ? std::string_view{} : dict.substr(p, end - p + 1);
  }
  while (end < dict.size() && dict[end] != ',' && dict[end] != '}') ++end;
  while (end > p && (dict[end - 1] == ' ' || dict[end - 1] == '\t')) --end;
  return dict.substr(p, end - p);
}

// `bytes`: the member's first bytes (at most kMaxNpyHeadBytes), of `member_size` in all.
NpyHeader parse_npy_header(std::string_view bytes, int64_t member_size, const std::string& where) {
  auto bad = [&](std::string_view why) { fail_input("{}: invalid .npy header: {}", where, why); };
  if (bytes.size() < 10 || bytes.substr(0, 6) != "\x93NUMPY") bad("missing \\x93NUMPY magic");
  // numpy writes and reads versions 1.0, 2.0 (4-byte header length) and 3.0 (utf8 header) only.
  const auto major = static_cast<unsigned char>(bytes[6]);
  const auto minor = static_cast<unsigned char>(bytes[7]);
  int64_t header_len = 0;
  int64_t prefix = 0;
  if (minor != 0 || major < 1 || major > 3)
    bad(fmt::format("unsupported .npy format version {}.{} (kfold reads 1.0, 2.0 and 3.0)", major, minor));
  if (major == 1) {
    header_len = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
    prefix = 10;
  } else {  // 2 or 3
    if (bytes.size() < 12) bad("too short");
    uint32_t n = 0;
    std::memcpy(&n, bytes.data() + 8, 4);
    header_len = n;
    prefix = 12;
  }
  if (prefix + header_len > member_size) bad("header longer than the member");
  if (prefix + header_len > static_cast<int64_t>(bytes.size()))
    bad(fmt::format("a header of {} bytes; kfold reads .npy headers of up to {} bytes (numpy writes ~128)", header_len,
                    kMaxNpyHeadBytes - prefix));
  const std::string_view dict = bytes.substr(static_cast<size_t>(prefix), static_cast<size_t>(header_len));
  NpyHeader h;
  h.data_offset = prefix + header_len;
  const std::string_view descr = header_value(dict, "descr", where);
  if (descr.size() < 4 || descr.front() != '\'')
    bad(fmt::format("dtype {} is not a numpy dtype kfold can list (structured arrays are not supported)",
                    descr.empty() ? "?" : descr));
  const char order = descr[1];
  const char kind = descr[2];
  if (order != '<' && order != '>' && order != '|' && order != '=')
    bad(fmt::format("dtype {}: byte order '{}' is none of numpy's '<', '>', '|' and '='", descr, order));
  // Item size in bytes; anything but plain digits (or digits past int) is 0: dtype other, never read.
  const std::string_view size_text = descr.substr(3, descr.size() - 4);
  int size = 0;
  if (const auto r = std::from_chars(size_text.data(), size_text.data() + size_text.size(), size);
      r.ec != std::errc() || r.ptr != size_text.data() + size_text.size())
    size = 0;
  h.big_endian = order == '>' && size > 1;
  switch (kind) {
    case 'f':
      h.dtype = size == 2 ? DType::float16 : size == 4 ? DType::float32 : size == 8 ? DType::float64 : DType::other;
      break;
    case 'i':
      h.dtype = size == 1   ? DType::int8
                : size == 2 ? DType::int16
                : size == 4 ? DType::int32
                : size == 8 ? DType::int64
                            : DType::other;
      break;
    case 'u':
      h.dtype = size == 1   ? DType::uint8
                : size == 2 ? DType::uint16
                : size == 4 ? DType::uint32
                : size == 8 ? DType::uint64
                            : DType::other;
      break;
    case 'b':
      h.dtype = size == 1 ? DType::bool_ : DType::other;
      break;
    default:
      break;
  }
  // Strings, objects, complex numbers...: listed with numpy's name, never read (NpzFile::read refuses them).
  if (h.dtype == DType::other) h.numpy_dtype = std::string(descr.substr(1, descr.size() - 2));
  const std::string_view fortran_order = header_value(dict, "fortran_order", where);
  if (fortran_order != "True" && fortran_order != "False")
    bad(fmt::format("fortran_order is '{}', not True or False", fortran_order));
  h.fortran_order = fortran_order == "True";
  std::string_view shape = header_value(dict, "shape", where);
  if (shape.size() < 2 || shape.front() != '(' || shape.back() != ')') bad("missing shape");
  shape = shape.substr(1, shape.size() - 2);
  size_t p = 0;
  while (p < shape.size()) {
    while (p < shape.size() && (shape[p] == ' ' || shape[p] == ',')) ++p;
    if (p >= shape.size()) break;
    size_t q = p;
    while (q < shape.size() && shape[q] >= '0' && shape[q] <= '9') ++q;
    if (q == p) bad(fmt::format("bad shape ({})", shape));
    int64_t dim = 0;
    if (std::from_chars(shape.data() + p, shape.data() + q, dim).ec != std::errc())
      bad(fmt::format("dimension {} of shape ({}) is too large", h.shape.size(), shape));
    h.shape.push_back(dim);
    p = q;
  }
  // The element count and byte size must fit in int64 (NpyArray::numel and nbytes multiply them; a member
  // of dtype other counts one byte an element, so that its numel() cannot overflow either).
  int64_t nbytes = std::max<int64_t>(1, dtype_size(h.dtype));
  for (const int64_t dim : h.shape)
    if (__builtin_mul_overflow(nbytes, dim, &nbytes) || nbytes > (INT64_MAX >> 1))
      bad(fmt::format("shape ({}) of {} holds more bytes than any file can", shape,
                      h.dtype == DType::other ? h.numpy_dtype : std::string(dtype_name(h.dtype))));
  return h;
}

// Inflates a raw-deflate stream; stops after `limit` output bytes (-1: all).
std::vector<std::byte> inflate_member(std::span<const std::byte> in, int64_t out_size, int64_t limit,
                                      const std::string& where) {
  const int64_t want = limit < 0 ? out_size : std::min(limit, out_size);
  std::vector<std::byte> out(static_cast<size_t>(want));
  z_stream zs{};
  if (inflateInit2(&zs, -MAX_WBITS) != Z_OK) fail_runtime("zlib: inflateInit2 failed");
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(in.data()));
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  int64_t in_left = static_cast<int64_t>(in.size());
  int64_t out_left = want;
  int rc = Z_OK;
  while (out_left > 0 && rc == Z_OK) {
    const auto in_chunk = static_cast<uInt>(std::min<int64_t>(in_left, 1 << 30));
    const auto out_chunk = static_cast<uInt>(std::min<int64_t>(out_left, 1 << 30));
    zs.avail_in = in_chunk;
    zs.avail_out = out_chunk;
    rc = inflate(&zs, Z_NO_FLUSH);
    in_left -= in_chunk - zs.avail_in;
    out_left -= out_chunk - zs.avail_out;
    if (rc == Z_OK && in_chunk == zs.avail_in && out_chunk == zs.avail_out) break;  // no progress
  }
  inflateEnd(&zs);
  if (out_left != 0 || (rc != Z_OK && rc != Z_STREAM_END))
    fail_input("{}: corrupt compressed data in the archive", where);
  return out;
}

float half_to_float(uint16_t h) {
  const uint32_t sign = (h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1f;
  uint32_t mant = h & 0x3ffu;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: normalise
      exp = 127 - 15 + 1;
      while ((mant & 0x400u) == 0) {
        mant <<= 1;
        --exp;
      }
      bits = sign | (exp << 23) | ((mant & 0x3ffu) << 13);
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

// One element at `p` (of `dtype`, byte-swapped when `swap`) as T.
template <typename T>
T element(const std::byte* p, DType dtype, bool swap, bool& out_of_range) {
  std::array<std::byte, 8> buf{};
  const auto n = static_cast<size_t>(dtype_size(dtype));
  std::memcpy(buf.data(), p, n);
  if (swap) std::reverse(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
  auto as = [&](auto v) {
    std::memcpy(&v, buf.data(), sizeof(v));
    if constexpr (std::is_integral_v<T> && std::is_integral_v<decltype(v)>)
      if (!std::in_range<T>(v)) out_of_range = true;  // an int64 read as int32 must fit, not wrap
    return static_cast<T>(v);
  };
  switch (dtype) {
    case DType::float16: {
      uint16_t v;
      std::memcpy(&v, buf.data(), 2);
      return static_cast<T>(half_to_float(v));
    }
    case DType::float32:
      return as(float{});
    case DType::float64:
      return as(double{});
    case DType::int8:
      return as(int8_t{});
    case DType::uint8:
      return as(uint8_t{});
    case DType::bool_:
      return static_cast<T>(buf[0] != std::byte{0});
    case DType::int16:
      return as(int16_t{});
    case DType::uint16:
      return as(uint16_t{});
    case DType::int32:
      return as(int32_t{});
    case DType::uint32:
      return as(uint32_t{});
    case DType::int64:
      return as(int64_t{});
    case DType::uint64:
      return as(uint64_t{});
    default:
      break;
  }
  return T{};
}

// The zip archive's central directory: where it starts, its size and how many entries it has (ZIP64 or not).
struct CentralDirectory {
  int64_t offset = 0;
  int64_t size = 0;
  int64_t entries = 0;
};

constexpr int64_t kCentralHeaderSize = 46;  // an entry's fixed part, before its name, extra data and comment

CentralDirectory find_central_directory(const Cursor& c, int64_t size, const std::string& file) {
  // End of central directory: last 22..65557 bytes.
  int64_t eocd = -1;
  for (int64_t p = size - 22; p >= std::max<int64_t>(0, size - 22 - 65535); --p)
    if (c.at<uint32_t>(p) == kEndOfDirectory) {
      eocd = p;
      break;
    }
  if (eocd < 0) fail_input("{}: not an .npz file (no zip end-of-directory record; truncated?)", file);
  CentralDirectory dir{c.at<uint32_t>(eocd + 16), c.at<uint32_t>(eocd + 12), c.at<uint16_t>(eocd + 10)};
  if (eocd >= 20 && c.at<uint32_t>(eocd - 20) == kZip64Locator) {
    const auto end64 = static_cast<int64_t>(c.at<uint64_t>(eocd - 20 + 8));
    if (c.at<uint32_t>(end64) != kZip64End) c.corrupt("the ZIP64 locator does not point at a ZIP64 end record");
    // Unsigned 64-bit values: past INT64_MAX they come out negative here, and are refused below.
    dir.entries = static_cast<int64_t>(c.at<uint64_t>(end64 + 32));
    dir.size = static_cast<int64_t>(c.at<uint64_t>(end64 + 40));
    dir.offset = static_cast<int64_t>(c.at<uint64_t>(end64 + 48));
  }
  if (dir.offset < 0 || dir.size < 0 || dir.offset > size || dir.size > size - dir.offset) c.truncated();
  if (dir.entries < 0 || dir.entries > dir.size / kCentralHeaderSize)
    c.corrupt(fmt::format("{} entries cannot fit a central directory of {} bytes", static_cast<uint64_t>(dir.entries),
                          dir.size));
  return dir;
}

// One central-directory entry (sizes and offset with their ZIP64 values).
struct ZipEntry {
  std::string name;
  uint16_t flags = 0;
  uint16_t method = 0;
  uint32_t crc = 0;
  int64_t packed = 0;
  int64_t unpacked = 0;
  int64_t local = 0;  // offset of its local header
};

// The entry at `p`; `p` moves to the next one.
ZipEntry read_central_entry(const Cursor& c, int64_t& p) {
  if (c.at<uint32_t>(p) != kCentralHeader) c.truncated();
  ZipEntry entry;
  entry.flags = c.at<uint16_t>(p + 8);
  entry.method = c.at<uint16_t>(p + 10);
  entry.crc = c.at<uint32_t>(p + 16);
  entry.packed = c.at<uint32_t>(p + 20);
  entry.unpacked = c.at<uint32_t>(p + 24);
  const uint16_t name_len = c.at<uint16_t>(p + 28);
  const uint16_t extra_len = c.at<uint16_t>(p + 30);
  const uint16_t comment_len = c.at<uint16_t>(p + 32);
  entry.local = c.at<uint32_t>(p + 42);
  entry.name = std::string(c.text(p + 46, name_len));
  // ZIP64 extra field: 64-bit values for the fields that hold 0xFFFFFFFF, in this order. Every field must lie
  // inside the entry's extra data, every value inside its field (as Python's zipfile requires).
  const int64_t extra_end = p + 46 + name_len + extra_len;
  bool zip64_extra = false;
  for (int64_t e = p + 46 + name_len; e + 4 <= extra_end;) {
    const uint16_t id = c.at<uint16_t>(e);
    const uint16_t len = c.at<uint16_t>(e + 2);
    if (e + 4 + len > extra_end)
      c.corrupt(fmt::format("entry '{}': extra field {:#06x} of {} bytes runs past the entry's {} bytes of extra data",
                            entry.name, id, len, extra_len));
    if (id == 0x0001) {
      zip64_extra = true;
      int64_t q = e + 4;
      for (int64_t* field : {&entry.unpacked, &entry.packed, &entry.local}) {
        if (*field != 0xFFFFFFFF) continue;
        if (q + 8 > e + 4 + len)
          c.corrupt(
              fmt::format("entry '{}': its ZIP64 extra field of {} bytes lacks a value the entry marks 0xFFFFFFFF",
                          entry.name, len));
        *field = static_cast<int64_t>(c.at<uint64_t>(q));
        q += 8;
      }
    }
    e += 4 + len;
  }
  // 0xFFFFFFFF says "in the ZIP64 extra field"; read as a size it would be a member of 4 GiB ("truncated").
  if (!zip64_extra && (entry.unpacked == 0xFFFFFFFF || entry.packed == 0xFFFFFFFF || entry.local == 0xFFFFFFFF))
    c.corrupt(
        fmt::format("entry '{}': marks a size or offset 0xFFFFFFFF (ZIP64) but has no ZIP64 extra field", entry.name));
  p += 46 + name_len + extra_len + comment_len;
  return entry;
}

// InputError for an entry that is not a plain or deflated .npy member with believable sizes.
void check_entry(const Cursor& c, const ZipEntry& entry, const std::string& where) {
  if (entry.flags & 0x1) fail_input("{}: encrypted zip members are not supported", where);
  if (entry.method != 0 && entry.method != 8)
    fail_input("{}: unsupported zip compression method {}", where, entry.method);
  if (!entry.name.ends_with(".npy")) fail_input("{}: not a .npy array; an .npz holds only .npy members", where);
  // ZIP64 values are unsigned 64-bit: past INT64_MAX they come out negative here.
  if (entry.packed < 0 || entry.unpacked < 0 || entry.local < 0) c.truncated();
  if (entry.method == 0 && entry.packed != entry.unpacked)
    fail_input("{}: stored (uncompressed) member of {} bytes says it holds {} bytes: corrupt archive", where,
               entry.packed, entry.unpacked);
  // Deflate expands at most 1032:1; a larger claim would only make us allocate it before failing.
  if (entry.method == 8 && entry.unpacked / 1032 > entry.packed + 1)
    fail_input("{}: {} compressed bytes cannot inflate to the {} bytes the archive claims: corrupt archive", where,
               entry.packed, entry.unpacked);
  if (c.at<uint32_t>(entry.local) != kLocalHeader) c.truncated();
}

// The array an entry holds, from its .npy header (the first bytes of the member, inflated when compressed).
NpyArray read_array_header(const Cursor& c, const std::byte* map, int64_t size, const ZipEntry& entry,
                           const std::string& where) {
  NpyArray a;
  a.name = entry.name.substr(0, entry.name.size() - 4);
  a.compressed = entry.method == 8;
  a.crc32 = entry.crc;
  a.member_offset = entry.local + 30 + c.at<uint16_t>(entry.local + 26) + c.at<uint16_t>(entry.local + 28);
  a.member_size = entry.packed;
  if (a.member_offset > size || entry.packed > size - a.member_offset) c.truncated();
  const std::span<const std::byte> member(map + a.member_offset, static_cast<size_t>(entry.packed));
  std::vector<std::byte> head_buf;
  std::string_view head;
  if (a.compressed) {
    head_buf = inflate_member(member, entry.unpacked, kMaxNpyHeadBytes, where);
    head = {reinterpret_cast<const char*>(head_buf.data()), head_buf.size()};
  } else {
    head = {reinterpret_cast<const char*>(member.data()), std::min<size_t>(member.size(), size_t{kMaxNpyHeadBytes})};
  }
  const NpyHeader h = parse_npy_header(head, entry.unpacked, where);
  a.dtype = h.dtype;
  a.big_endian = h.big_endian;
  a.fortran_order = h.fortran_order;
  a.shape = h.shape;
  a.data_offset = h.data_offset;
  a.numpy_dtype = h.numpy_dtype;
  if (a.dtype != DType::other && h.data_offset + a.nbytes() != entry.unpacked)
    fail_input("{}: shape {} of {} needs {} bytes but the member holds {}", where, shape_string(a.shape),
               dtype_name(a.dtype), a.nbytes(), entry.unpacked - h.data_offset);
  return a;
}

}  // namespace

int64_t NpyArray::numel() const {
  int64_t n = 1;
  for (const int64_t s : shape) n *= s;
  return n;
}

bool is_zip_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::array<char, 4> magic{};
  in.read(magic.data(), 4);
  // A member's local header first, or the end record of an archive without members (np.savez()).
  return in.gcount() == 4 &&
         (std::memcmp(magic.data(), "PK\x03\x04", 4) == 0 || std::memcmp(magic.data(), "PK\x05\x06", 4) == 0);
}

NpzFile::NpzFile(const std::filesystem::path& path) : path_(path) {
  const std::string file = path.string();
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) fail_input("{}: file not found; check the path", file);
  if (std::filesystem::is_directory(path, ec)) fail_input("{}: is a directory, expected an .npz file", file);
  // Non-blocking: a FIFO under the name would block the open until a writer came.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    fail_input("{}: cannot open: {}{}", file, std::strerror(errno),
               errno == EACCES ? "; ask its owner for read access, or use a copy of your own" : "");
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int error = errno;
    ::close(fd);
    fail_input("{}: cannot read its size: {}", file, std::strerror(error));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    fail_input("{}: not a regular file (a FIFO or device?), expected an .npz file", file);
  }
  size_ = st.st_size;
  if (size_ < 22) {
    ::close(fd);
    fail_input("{}: not an .npz file (too small to be a zip archive)", file);
  }
  void* map = ::mmap(nullptr, static_cast<size_t>(size_), PROT_READ, MAP_PRIVATE, fd, 0);
  const int map_error = errno;  // before close() sets its own
  ::close(fd);
  if (map == MAP_FAILED) fail_runtime("{}: cannot map file: {}", file, std::strerror(map_error));
  map_ = static_cast<const std::byte*>(map);
  guard_ = MappedFileGuard(map, static_cast<size_t>(size_), path_);
  try {
    const Cursor c(map_, size_, file);
    const CentralDirectory dir = find_central_directory(c, size_, file);
    int64_t p = dir.offset;
    for (int64_t i = 0; i < dir.entries; ++i) {
      if (p >= dir.offset + dir.size) c.corrupt(fmt::format("its central directory ends before entry {}", i + 1));
      const ZipEntry entry = read_central_entry(c, p);
      const std::string where = file + ": member '" + entry.name + "'";
      check_entry(c, entry, where);
      NpyArray a = read_array_header(c, map_, size_, entry, where);
      // numpy keeps the last of two members of one name, a first-wins reader the first: refuse both.
      if (!index_.emplace(a.name, arrays_.size()).second)
        fail_input("{}: holds the array '{}' twice (numpy would read the second copy); write the file again",
                   path_.string(), a.name);
      arrays_.push_back(std::move(a));
    }
    // Python's zipfile reads entries until the directory's size is used up, not as many as the end record
    // counts: a count that disagrees would hide arrays numpy reads (or read bytes past the directory).
    if (p != dir.offset + dir.size)
      c.corrupt(fmt::format("its end record counts {} entries, but they take {} of its central directory's {} bytes",
                            dir.entries, p - dir.offset, dir.size));
  } catch (...) {
    guard_.release();
    ::munmap(const_cast<std::byte*>(map_), static_cast<size_t>(size_));
    map_ = nullptr;
    throw;
  }
  crc_checked_ = std::make_unique<std::vector<bool>>(arrays_.size(), false);
}

NpzFile::~NpzFile() {
  guard_.release();  // before the range can be another mapping's
  if (map_) ::munmap(const_cast<std::byte*>(map_), static_cast<size_t>(size_));
}

const NpyArray* NpzFile::find(std::string_view name) const {
  const auto it = index_.find(std::string(name));
  return it == index_.end() ? nullptr : &arrays_[it->second];
}

const NpyArray& NpzFile::get(std::string_view name) const {
  const NpyArray* a = find(name);
  if (!a) fail_input("{}: key '{}' is missing", path_.string(), name);
  return *a;
}

void NpzFile::check_crc(const NpyArray& array, std::span<const std::byte> member) const {
  static std::mutex mutex;
  const auto i = static_cast<size_t>(&array - arrays_.data());
  {
    std::lock_guard lock(mutex);
    if ((*crc_checked_)[i]) return;
  }
  uLong crc = crc32(0L, Z_NULL, 0);
  for (size_t off = 0; off < member.size(); off += 1u << 30) {
    const size_t n = std::min<size_t>(member.size() - off, 1u << 30);
    crc = crc32(crc, reinterpret_cast<const Bytef*>(member.data() + off), static_cast<uInt>(n));
  }
  if (static_cast<uint32_t>(crc) != array.crc32)
    fail_input("{}: key '{}' fails its CRC check (corrupt or truncated download?)", path_.string(), array.name);
  std::lock_guard lock(mutex);
  (*crc_checked_)[i] = true;
}

std::span<const std::byte> NpzFile::raw_bytes(const NpyArray& array) const {
  if (array.compressed) return {};
  const std::span<const std::byte> member(map_ + array.member_offset, static_cast<size_t>(array.member_size));
  check_crc(array, member);
  return member.subspan(static_cast<size_t>(array.data_offset));
}

bool NpzFile::zero_copy(const NpyArray& array) const {
  return !array.compressed && !array.big_endian && (!array.fortran_order || array.shape.size() <= 1);
}

std::vector<std::byte> NpzFile::member_bytes(const NpyArray& array) const {
  const std::span<const std::byte> member(map_ + array.member_offset, static_cast<size_t>(array.member_size));
  if (!array.compressed) {
    check_crc(array, member);
    return {member.begin(), member.end()};
  }
  auto out =
      inflate_member(member, array.data_offset + array.nbytes(), -1, path_.string() + ": key '" + array.name + "'");
  check_crc(array, out);
  return out;
}

template <typename T>
std::vector<T> NpzFile::read(std::string_view name, const std::vector<int64_t>& expected_shape) const {
  const NpyArray& a = get(name);
  const DType want = dtype_of<T>();
  if (a.dtype == DType::other)
    fail_input(
        "{}: key '{}' has numpy dtype '{}' (strings, objects and other non-numeric arrays are not read); "
        "expected {}",
        path_.string(), a.name, a.dtype_text(), dtype_name(want));
  if (!((is_float(want) && is_float(a.dtype)) || (is_integer(want) && is_integer(a.dtype))))
    fail_input("{}: key '{}' has dtype {}, expected {}", path_.string(), a.name, dtype_name(a.dtype), dtype_name(want));
  if (!shape_matches(a.shape, expected_shape)) {
    fail_input("{}: key '{}' has shape {}, expected {}", path_.string(), a.name, shape_string(a.shape),
               shape_string(expected_shape));
  }
  check_host_memory(a.numel() * static_cast<int64_t>(sizeof(T)) + (a.compressed ? a.nbytes() : 0),
                    fmt::format("{}: key '{}' (shape {})", path_.string(), a.name, shape_string(a.shape)),
                    "read it where more memory is available");
  std::vector<std::byte> owned;
  std::span<const std::byte> bytes = raw_bytes(a);
  if (bytes.empty() && a.nbytes() > 0) {
    owned = member_bytes(a);
    bytes = std::span<const std::byte>(owned).subspan(static_cast<size_t>(a.data_offset));
  }
  const int64_t n = a.numel();
  const int64_t size = dtype_size(a.dtype);
  std::vector<T> out(static_cast<size_t>(n));
  bool out_of_range = false;
  const auto checked = [&] {
    if (out_of_range)
      fail_input("{}: key '{}' holds {} values that do not fit {}; write it with values in that type's range",
                 path_.string(), a.name, dtype_name(a.dtype), dtype_name(want));
    return std::move(out);
  };
  if (!a.fortran_order || a.shape.size() <= 1) {
    for (int64_t i = 0; i < n; ++i)
      out[static_cast<size_t>(i)] = element<T>(bytes.data() + i * size, a.dtype, a.big_endian, out_of_range);
    return checked();
  }
  // Fortran order: element (i0, i1, ...) sits at i0 + d0 * (i1 + d1 * (...)); walk C order.
  const auto rank = a.shape.size();
  std::vector<int64_t> index(rank, 0);
  for (int64_t c_pos = 0; c_pos < n; ++c_pos) {
    int64_t f_pos = 0;
    for (size_t d = rank; d-- > 0;) f_pos = f_pos * a.shape[d] + index[d];
    out[static_cast<size_t>(c_pos)] = element<T>(bytes.data() + f_pos * size, a.dtype, a.big_endian, out_of_range);
    for (size_t d = rank; d-- > 0;) {
      if (++index[d] < a.shape[d]) break;
      index[d] = 0;
    }
  }
  return checked();
}

template std::vector<float> NpzFile::read<float>(std::string_view, const std::vector<int64_t>&) const;
template std::vector<double> NpzFile::read<double>(std::string_view, const std::vector<int64_t>&) const;
template std::vector<int32_t> NpzFile::read<int32_t>(std::string_view, const std::vector<int64_t>&) const;
template std::vector<int64_t> NpzFile::read<int64_t>(std::string_view, const std::vector<int64_t>&) const;
template std::vector<uint8_t> NpzFile::read<uint8_t>(std::string_view, const std::vector<int64_t>&) const;

}  // namespace kfold::data
