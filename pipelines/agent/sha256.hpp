// SHA-256 (FIPS 180-4) of files and strings, hex-encoded: the input hashes the agent's notebook records
// (the same digests `sha256sum` prints).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace kfold::pipelines::agent {

std::string sha256_hex(std::string_view data);
// Throws InputError when the file cannot be read.
std::string sha256_file(const std::filesystem::path& path);

}  // namespace kfold::pipelines::agent
