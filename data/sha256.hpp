// SHA-256 (FIPS 180-4) of files and strings, hex-encoded (the digests `sha256sum` prints): the input hashes
// the agent's notebook and a prediction's run.json record.
#pragma once

#include <atomic>
#include <filesystem>
#include <string>
#include <string_view>

namespace kfold::data {

std::string sha256_hex(std::string_view data);
// Throws InputError when the file cannot be read. Returns "" when `stop` (checked every 64 KiB) becomes true.
std::string sha256_file(const std::filesystem::path& path, const std::atomic<bool>* stop = nullptr);

}  // namespace kfold::data
