// The OpenAI-compatible chat client of the agent's LLM operator (libcurl easy interface, one request at a
// time, no retries: a failed call is reported to the caller, which continues without the LLM).
#include "pipelines/agent/llm_client.hpp"
#include "data/text_input.hpp"

#include <curl/curl.h>
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <memory>

#include "data/error.hpp"
#include "data/interrupt.hpp"

namespace kfold::pipelines::agent {

namespace {

// Larger replies are cut off with an error: a chat completion of a few dozen suggestions is a few kB.
constexpr size_t kMaxResponseBytes = size_t{4} << 20;

std::string environment(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr ? std::string(value) : std::string();
}

// libcurl's progress callback: a non-zero return aborts the transfer.
int stop_when_interrupted(void*, curl_off_t, curl_off_t, curl_off_t, curl_off_t) { return interrupt_signal() != 0; }

size_t append_to_string(char* data, size_t size, size_t count, void* user) {
  auto& out = *static_cast<std::string*>(user);
  if (out.size() + size * count > kMaxResponseBytes) return 0;  // libcurl then fails with CURLE_WRITE_ERROR
  out.append(data, size * count);
  return size * count;
}

// The first `n` bytes of `text`, without cutting a UTF-8 sequence, for error messages.
std::string snippet(std::string_view text, size_t n = 200) {
  if (text.size() <= n) return std::string(text);
  while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80) --n;
  return std::string(text.substr(0, n)) + "...";
}

}  // namespace

std::optional<LlmConfig> llm_config_from_environment() {
  LlmConfig config;
  config.url = environment("KFOLD_LLM_URL");
  if (config.url.empty()) return std::nullopt;
  if (const std::string model = environment("KFOLD_LLM_MODEL"); !model.empty()) config.model = model;
  config.api_key = environment("KFOLD_LLM_API_KEY");
  if (const std::string timeout = environment("KFOLD_LLM_TIMEOUT"); !timeout.empty()) {
    config.timeout_seconds = data::parse_decimal(timeout).value_or(0.0);
    if (!(config.timeout_seconds > 0.0) || config.timeout_seconds > 86400.0) {
      fail_input("KFOLD_LLM_TIMEOUT='{}': give the LLM request timeout in seconds (a number > 0, e.g. 60)", timeout);
    }
  }
  return config;
}

std::string chat_request_body(const LlmConfig& config, std::string_view system, std::string_view user) {
  const nlohmann::json body = {
      {"model", config.model},
      {"messages", {{{"role", "system"}, {"content", system}}, {{"role", "user"}, {"content", user}}}},
      {"temperature", 0}};
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

ChatReply parse_chat_response(std::string_view http_body) {
  const auto reply = nlohmann::json::parse(http_body, nullptr, false);
  if (reply.is_discarded() || !reply.is_object())
    return {{}, fmt::format("the reply is not a JSON object: '{}'", snippet(http_body))};
  if (reply.contains("error")) {
    const auto& error = reply["error"];
    const bool has_message = error.is_object() && error.contains("message") && error["message"].is_string();
    return {{},
            "the endpoint answered with an error: " +
                (has_message ? error["message"].get<std::string>()
                             : error.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace))};
  }
  const auto choices = reply.find("choices");
  if (choices == reply.end() || !choices->is_array() || choices->empty() || !(*choices)[0].is_object())
    return {{}, "the reply has no choices[0] (is KFOLD_LLM_URL a chat-completions endpoint?)"};
  const auto& first = (*choices)[0];
  const auto message = first.find("message");
  if (message == first.end() || !message->is_object() || !message->contains("content") ||
      !(*message)["content"].is_string())
    return {{}, "the reply has no choices[0].message.content text"};
  return {(*message)["content"].get<std::string>(), {}};
}

std::string url_for_display(std::string_view url) {
  std::string out(url);
  const size_t scheme = out.find("://");
  const size_t host = scheme == std::string::npos ? 0 : scheme + 3;
  const size_t path = out.find_first_of("/?#", host);
  if (const size_t at = out.rfind('@', path == std::string::npos ? std::string::npos : path - 1);
      at != std::string::npos && at >= host && (path == std::string::npos || at < path))
    out.replace(host, at - host, "***");
  if (const size_t query = out.find('?'); query != std::string::npos) out.replace(query + 1, std::string::npos, "***");
  return out;
}

ChatReply post_chat_request(const LlmConfig& config, const std::string& body) {
  // curl_global_init is not thread-safe: once per process (a function-local static is initialised once).
  static const CURLcode global_init = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (global_init != CURLE_OK) return {{}, fmt::format("libcurl failed to start: {}", curl_easy_strerror(global_init))};
  const std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) return {{}, "libcurl failed to create a handle"};
  const auto add_header = [](curl_slist* list, const std::string& header) {
    return curl_slist_append(list, header.c_str());
  };
  curl_slist* header_list = add_header(nullptr, "Content-Type: application/json");
  if (!config.api_key.empty()) header_list = add_header(header_list, "Authorization: Bearer " + config.api_key);
  const std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> headers(header_list, curl_slist_free_all);

  std::string response;
  char error_buffer[CURL_ERROR_SIZE] = {};
  // At least 1 ms: libcurl reads 0 as "no timeout".
  const auto timeout_ms = std::max(1L, static_cast<long>(std::ceil(config.timeout_seconds * 1000.0)));
  CURL* h = curl.get();
  curl_easy_setopt(h, CURLOPT_URL, config.url.c_str());
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);  // no SIGALRM for timeouts: safe in threaded callers
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, append_to_string);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &response);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error_buffer);
  // Ctrl-C or a scheduler's SIGTERM ends the call at once (curl asks about once a second), not at its timeout.
  curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, stop_when_interrupted);
  const CURLcode result = curl_easy_perform(h);
  if (result == CURLE_ABORTED_BY_CALLBACK) check_interrupt();
  if (result != CURLE_OK) {
    if (result == CURLE_WRITE_ERROR && response.size() + CURL_MAX_WRITE_SIZE > kMaxResponseBytes)
      return {{}, fmt::format("the reply is larger than {} MB", kMaxResponseBytes >> 20)};
    return {{}, error_buffer[0] != '\0' ? std::string(error_buffer) : std::string(curl_easy_strerror(result))};
  }
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  if (status >= 400) return {{}, fmt::format("HTTP {}: '{}'", status, snippet(response))};
  return parse_chat_response(response);
}

}  // namespace kfold::pipelines::agent
