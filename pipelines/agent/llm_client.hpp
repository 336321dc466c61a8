// A minimal client of an OpenAI-compatible chat-completions endpoint over libcurl: one POST of
// {"model", "messages": [system, user], "temperature": 0}, the reply's choices[0].message.content back.
// Configured from the environment (KFOLD_LLM_URL, KFOLD_LLM_MODEL, KFOLD_LLM_API_KEY, KFOLD_LLM_TIMEOUT).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace kfold::pipelines::agent {

struct LlmConfig {
  std::string url;                // the full URL POSTed to, e.g. http://localhost:8000/v1/chat/completions
  std::string model = "default";  // the request's "model"
  std::string api_key;            // sent as `Authorization: Bearer <key>` when not empty
  double timeout_seconds = 60.0;  // whole request, connection included
};

// nullopt when KFOLD_LLM_URL is unset or empty. Throws InputError for a KFOLD_LLM_TIMEOUT that is not a
// positive number of seconds.
std::optional<LlmConfig> llm_config_from_environment();

// The outcome of one call: the reply's content, or why there is none (connection refused, timeout,
// HTTP status >= 400, a body that is not a chat completion). Transport and reply errors are never thrown:
// the LLM is a helper, and the round goes on without it.
struct ChatReply {
  std::string content;
  std::string error;  // empty: success
  bool ok() const { return error.empty(); }
};

// The JSON request body of one chat completion (deterministic: the same text for the same inputs).
std::string chat_request_body(const LlmConfig& config, std::string_view system, std::string_view user);

// The URL as logs and outputs show it: without user:password@ and without the query string (where API
// keys are often passed), each replaced by "***". "http://u:p@host/v1?key=K" -> "http://***@host/v1?***".
std::string url_for_display(std::string_view url);

// POSTs `body` (from chat_request_body) to config.url and reads the reply.
ChatReply post_chat_request(const LlmConfig& config, const std::string& body);

// choices[0].message.content of an HTTP response body, or an error naming what is missing.
ChatReply parse_chat_response(std::string_view http_body);

}  // namespace kfold::pipelines::agent
