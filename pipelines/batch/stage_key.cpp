// StageKey (pipelines/batch/stage_key.hpp).
#include "pipelines/batch/stage_key.hpp"

#include <fmt/format.h>

#include <fstream>
#include <vector>

#include "data/file_identity.hpp"

namespace kfold::pipelines {

namespace fs = std::filesystem;

void StageKey::mix(std::string_view bytes) {
  for (const char c : bytes) {
    state_ ^= static_cast<unsigned char>(c);
    state_ *= 1099511628211ULL;
  }
}

StageKey& StageKey::add(std::string_view field, std::string_view value) {
  mix(fmt::format("{}:{}:", field, value.size()));
  mix(value);
  return *this;
}

StageKey& StageKey::add(std::string_view field, double value) { return add(field, fmt::format("{:.17g}", value)); }

StageKey& StageKey::add(std::string_view field, int64_t value) { return add(field, std::to_string(value)); }

StageKey& StageKey::add_file_content(std::string_view field, const fs::path& path) {
  std::error_code error;
  if (!fs::is_regular_file(path, error)) return add(field, std::string_view("missing"));  // (a FIFO: blocks)
  std::ifstream in(path, std::ios::binary);
  if (!in) return add(field, std::string_view("missing"));
  mix(fmt::format("{}:file:", field));
  std::vector<char> buffer(1 << 16);
  while (in.read(buffer.data(), static_cast<std::streamsize>(buffer.size())) || in.gcount() > 0)
    mix(std::string_view(buffer.data(), static_cast<size_t>(in.gcount())));
  return *this;
}

StageKey& StageKey::add_file_bytes(std::string_view field, std::string_view bytes) {
  mix(fmt::format("{}:file:", field));
  mix(bytes);
  return *this;
}

std::string staged_name(const fs::path& path) {
  fs::path normal = fs::absolute(path).lexically_normal();
  if (normal.filename().empty()) normal = normal.parent_path();  // "db/"
  return normal.filename().string();
}

StageKey& StageKey::add_file_identity(std::string_view field, const fs::path& path) {
  add(field, staged_name(path));
  for (const std::string& file : data::file_identity(path)) add("file", file);
  return *this;
}

std::string StageKey::hex() const { return fmt::format("{:016x}", state_); }

}  // namespace kfold::pipelines
