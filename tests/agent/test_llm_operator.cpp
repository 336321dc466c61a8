// The optional LLM operator without a network: reply parsing, validation of suggestions, the dossier, the
// proposal operator and the critic through a fake transport, the chat client's request and reply formats.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>

#include "data/error.hpp"
#include "pipelines/agent/llm_client.hpp"
#include "pipelines/agent/llm_operator.hpp"
#include "pipelines/agent/operators.hpp"
#include "test_support.hpp"

using namespace kfold::pipelines::agent;

namespace {

// The synthetic fixture family (SYN, residues 5-46: K5 D6 D7 S8 L9 N10 ...), residue 6 frozen.
Campaign synthetic_campaign(int64_t max_mutations) {
  const std::string json = R"({"name": "syn", "target": {"id": "SYN", "first_residue": 5,
    "sequence": "KDDSLNPRALDWKWMCMDSYPVIDMKQYGVDHSFQLMWTTMY", "msa": "synthetic.a2m"},
    "objective": {"stability": 1.0}, "frozen": [6], "max_mutations": )" +
                           std::to_string(max_mutations) + R"(, "evolution": {"model": "site_independent"}})";
  return parse_campaign(json, kfold::test::source_dir() / "tests/fixtures/agent/campaign.json");
}

EvolutionaryModels site_independent_models(const Campaign& campaign) {
  EvolutionOptions eo;
  eo.fit_potts = false;
  eo.threads = 1;
  return build_evolutionary_models(campaign, eo);
}

// A session whose transport answers with `content` (or fails with `error`) and counts the requests.
LlmSession fake_session(const std::string& content, const std::string& error, int* requests) {
  LlmSession session;
  session.config.url = "http://llm.invalid/v1/chat/completions";
  session.post = [content, error, requests](const LlmConfig&, const std::string&) {
    ++*requests;
    return ChatReply{error.empty() ? content : std::string(), error};
  };
  return session;
}

std::string reason_for(const ValidatedSuggestions& v, const std::string& variant) {
  for (const auto& r : v.rejected)
    if (r.variant == variant) return r.reason;
  return "(accepted)";
}

}  // namespace

TEST_CASE("llm operator: the first JSON array of a reply, fenced or inside prose") {
  const std::string fenced =
      "Here you go:\n```json\n[{\"variant\": \"D7A\", \"rationale\": \"helix capping\"},\n"
      " {\"variant\": \"S8G:L9A\", \"rationale\": \"a [bracket] in text\"}]\n```\nGood luck [really].";
  const auto s = parse_llm_suggestions(fenced, "rationale");
  REQUIRE(s.size() == 2u);
  CHECK(s[0].variant == "D7A");
  CHECK(s[0].note == "helix capping");
  CHECK(s[1].variant == "S8G:L9A");
  CHECK(s[1].note == "a [bracket] in text");
  // Prose with a bracket that is not JSON before the array; items without a variant skipped; plain strings.
  const auto prose = parse_llm_suggestions(
      "My picks [see below]: [{\"variant\": \" D7E\", \"concern\": \"charge\"}, {\"note\": 1}, \"L9A \"] done",
      "concern");
  REQUIRE(prose.size() == 2u);
  CHECK(prose[0].variant == "D7E");
  CHECK(prose[0].note == "charge");
  CHECK(prose[1].variant == "L9A");
  CHECK(prose[1].note.empty());
  // Garbage, an object without an array, an unclosed array: no suggestions, no exception.
  CHECK(parse_llm_suggestions("I cannot help with that.", "rationale").empty());
  CHECK(parse_llm_suggestions("{\"variant\": \"D7A\"}", "rationale").empty());
  CHECK(parse_llm_suggestions("[{\"variant\": \"D7A\"", "rationale").empty());
  CHECK(parse_llm_suggestions("", "rationale").empty());
  CHECK(parse_llm_suggestions("[]", "rationale").empty());
  // A citation "[1]" in the prose before the answer is passed over (it took the place of the answer), so is
  // an array of numbers; an empty array is taken when nothing else names a variant ("[] when none").
  const auto cited = parse_llm_suggestions(
      "As in the literature [1], [2, 3], here:\n```json\n[{\"variant\": \"D7A\", \"rationale\": \"r\"}]\n```",
      "rationale");
  REQUIRE(cited.size() == 1u);
  CHECK(cited[0].variant == "D7A");
  CHECK(parse_llm_suggestions("None of them [1]: []", "concern").empty());
}

TEST_CASE("llm operator: suggestions are validated against the campaign with reasons") {
  const Campaign c = synthetic_campaign(2);
  const std::vector<LlmSuggestion> suggestions = {
      {"D7A", "  buries a\ncharge  "}, {"A7G", "wrong wild type"}, {"K100A", "out of range"}, {"D6A", "frozen"},
      {"D7A:S8G:L9A", "three"},        {"D7A", "again"},           {"S8G:L9A", ""},           {"WT", "nothing"},
      {"hello", "not a variant"}};
  const ValidatedSuggestions v = validate_llm_suggestions(suggestions, c, 24);
  REQUIRE(v.accepted.size() == 2u);
  CHECK(format_variant(v.accepted[0].first) == "D7A");
  CHECK(v.accepted[0].second == "buries a charge");  // one line, trimmed
  CHECK(format_variant(v.accepted[1].first) == "S8G:L9A");
  CHECK(v.rejected.size() == 7u);
  CHECK(reason_for(v, "A7G").find("the wild type has D at residue 7, not A") == 0);
  CHECK(reason_for(v, "K100A").find("residue 100 is outside the target sequence (residues 5..46)") == 0);
  CHECK(reason_for(v, "D6A") == "residue 6 is frozen in the campaign");
  CHECK(reason_for(v, "D7A:S8G:L9A").find("at most 2 (max_mutations)") != std::string::npos);
  CHECK(reason_for(v, "D7A") == "suggested twice");
  CHECK(reason_for(v, "WT").find("control") != std::string::npos);
  CHECK(reason_for(v, "hello").find("'h' is not one of the 20 standard amino acids") == 0);
  // At most max_suggestions accepted; a library restricts them.
  const ValidatedSuggestions capped = validate_llm_suggestions(suggestions, c, 1);
  CHECK(capped.accepted.size() == 1u);
  CHECK(reason_for(capped, "S8G:L9A") == "more than the 1 suggestions asked for");
  Campaign with_library = c;
  with_library.library_variants = {parse_variant("S8G:L9A", "test")};
  const ValidatedSuggestions in_library = validate_llm_suggestions(suggestions, with_library, 24);
  REQUIRE(in_library.accepted.size() == 1u);
  CHECK(format_variant(in_library.accepted[0].first) == "S8G:L9A");
  CHECK(reason_for(in_library, "D7A") == "not in the campaign's library");
  // A variant of the campaign's results can never be plated again.
  Campaign measured = c;
  Measurement m;
  m.variant = parse_variant("S8G:L9A", "test");
  measured.measurements = {m};
  CHECK(reason_for(validate_llm_suggestions(suggestions, measured, 24), "S8G:L9A") ==
        "already measured (in the campaign's results)");
  // Unicode line separators, bidi overrides and zero-width characters never reach a rationale: they break
  // scores.tsv rows in Python's splitlines() and reorder text in editors.
  const ValidatedSuggestions unicode =
      validate_llm_suggestions({{"D7A", "one\u2028two\u202Ethree\u200Bfour\u00C5"}}, c, 24);
  REQUIRE(unicode.accepted.size() == 1u);
  CHECK(unicode.accepted[0].second == "one two three four\u00C5");
}

TEST_CASE("llm operator: the dossier holds the numbered sequence and the objective, a few kB") {
  Campaign c = synthetic_campaign(2);
  Measurement m;
  m.variant = parse_variant("D7A", "test");
  m.value = 1.5;
  c.measurements = {m};
  const EvolutionaryModels models = site_independent_models(c);
  HypothesisSet proposed;
  propose_single_substitutions(c, proposed);
  const ScoreTable table = score_hypotheses(proposed.items(), c, models);
  const std::string dossier = llm_dossier(c, table, proposed);
  CHECK(dossier.find("Target: SYN, 42 residues numbered 5..46") != std::string::npos);
  CHECK(dossier.find("5 KDDSLNPRAL DWKWMCMDSY PVIDMKQYGV DHSFQLMWTT MY") != std::string::npos);
  CHECK(dossier.find("Objective weights: stability 1") != std::string::npos);
  CHECK(dossier.find("Frozen residues (never mutated): 6") != std::string::npos);
  CHECK(dossier.find("At most 2 substitution(s)") != std::string::npos);
  CHECK(dossier.find("single_substitution 779") != std::string::npos);  // 41 residues x 19
  CHECK(dossier.find("Top 20 candidates") != std::string::npos);
  CHECK(dossier.find("Measured so far: 1 variants (higher is better). All: D7A 1.5") != std::string::npos);
  CHECK(dossier.size() < 6000u);
}

TEST_CASE("llm operator: valid suggestions join the hypotheses as operator llm, each call is recorded") {
  const Campaign c = synthetic_campaign(2);
  const EvolutionaryModels models = site_independent_models(c);
  HypothesisSet proposed;
  propose_single_substitutions(c, proposed);
  const size_t n_before = proposed.items().size();
  int requests = 0;
  LlmSession session = fake_session(
      "```json\n[{\"variant\": \"S8G:L9A\", \"rationale\": \"pairs a glycine with a cavity\"}, {\"variant\": "
      "\"D7A\", \"rationale\": \"removes a charge\"}, {\"variant\": \"D6A\", \"rationale\": \"frozen\"}]\n```",
      "", &requests);
  propose_with_llm(session, c, models, proposed);
  CHECK(requests == 1);
  REQUIRE(proposed.items().size() == n_before + 1);  // D7A was already a single
  const Hypothesis& pair = proposed.items().back();
  CHECK(format_variant(pair.variant) == "S8G:L9A");
  CHECK(pair.operators == std::vector<std::string>{"llm"});
  CHECK(pair.rationale == std::vector<std::string>{"LLM: pairs a glycine with a cavity"});
  for (const Hypothesis& h : proposed.items()) {
    if (format_variant(h.variant) == "D7A") CHECK(operator_label(h) == "single_substitution+llm");
  }
  REQUIRE(session.calls.size() == 1u);
  const LlmCallRecord& call = session.calls[0];
  CHECK(call.purpose == "propose");
  CHECK(call.error.empty());
  CHECK(call.request_sha256.size() == 64u);
  CHECK(call.accepted == std::vector<std::string>{"S8G:L9A", "D7A"});
  REQUIRE(call.rejected.size() == 1u);
  CHECK(call.rejected[0].variant == "D6A");
  CHECK(call.response.find("S8G:L9A") != std::string::npos);
}

TEST_CASE("llm operator: the critic flags plate variants softly and never changes the plate") {
  const Campaign c = synthetic_campaign(1);
  std::vector<Hypothesis> hypotheses(3);
  const char* variants[] = {"D7A", "S8G", "L9A"};
  ScoreTable table;
  for (size_t k = 0; k < 3; ++k) {
    hypotheses[k].id = "H" + std::to_string(k + 1);
    hypotheses[k].operators = {"single_substitution"};
    hypotheses[k].variant = parse_variant(variants[k], "test");
  }
  for (const Hypothesis& h : hypotheses) {
    ScoredVariant row;
    row.hypothesis = &h;
    row.total = 1.0;
    table.rows.push_back(row);
  }
  Plate plate;
  plate.wells = {{"A1", 0, 1, "exploit"}, {"A2", -1, 0, "control"}, {"A3", 1, 2, "exploit"}};  // L9A not on it
  int requests = 0;
  LlmSession session = fake_session(
      "[{\"variant\": \"S8G\", \"concern\": \"glycine may\\nloosen the turn\"}, {\"variant\": \"L9A\", "
      "\"concern\": \"not on the plate\"}, {\"variant\": \"S8G\", \"concern\": \"twice\"}]",
      "", &requests);
  critique_plate_with_llm(session, plate, table, c);
  CHECK(requests == 1);
  CHECK(table.rows[0].flags.empty());
  REQUIRE(table.rows[1].flags.size() == 1u);
  CHECK(table.rows[1].flags[0].name == "llm_concern");
  CHECK(!table.rows[1].flags[0].hard);
  CHECK(table.rows[1].flags[0].detail == "glycine may loosen the turn");
  CHECK(table.rows[2].flags.empty());
  CHECK(!has_hard_flag(table.rows[1].flags));
  REQUIRE(session.calls.size() == 1u);
  CHECK(session.calls[0].purpose == "critic");
  CHECK(session.calls[0].accepted == std::vector<std::string>{"S8G"});
  REQUIRE(session.calls[0].rejected.size() == 2u);
  CHECK(session.calls[0].rejected[0].reason == "not on the plate");
  CHECK(session.calls[0].rejected[1].reason == "a second concern about the same variant");
}

TEST_CASE("llm operator: an unavailable endpoint is one failed call, later calls are skipped") {
  const Campaign c = synthetic_campaign(1);
  const EvolutionaryModels models = site_independent_models(c);
  HypothesisSet proposed;
  propose_single_substitutions(c, proposed);
  const std::vector<Hypothesis> before = proposed.items();
  int requests = 0;
  LlmSession session = fake_session("", "Connection refused", &requests);
  propose_with_llm(session, c, models, proposed);
  CHECK(proposed.items().size() == before.size());
  CHECK(session.failure == "Connection refused");
  ScoreTable table = score_hypotheses(proposed.items(), c, models);
  Plate plate;
  plate.wells = {{"A1", 0, 1, "exploit"}};
  critique_plate_with_llm(session, plate, table, c);
  CHECK(requests == 1);
  REQUIRE(session.calls.size() == 1u);
  CHECK(session.calls[0].error == "Connection refused");
  CHECK(session.calls[0].response.empty());
  CHECK(table.rows[0].flags.empty());
}

TEST_CASE("llm client: request body, reply parsing, environment, a closed port") {
  LlmConfig config;
  config.url = "http://127.0.0.1:1/v1/chat/completions";
  config.model = "m";
  const auto body = nlohmann::json::parse(chat_request_body(config, "sys", "usr"));
  CHECK(body["model"] == "m");
  CHECK(body["temperature"] == 0);
  REQUIRE(body["messages"].size() == 2u);
  CHECK(body["messages"][0]["role"] == "system");
  CHECK(body["messages"][1]["content"] == "usr");

  const ChatReply ok = parse_chat_response(R"({"choices": [{"message": {"role": "assistant", "content": "[]"}}]})");
  CHECK(ok.ok());
  CHECK(ok.content == "[]");
  CHECK(parse_chat_response("<html>bad gateway</html>").error.find("not a JSON object") != std::string::npos);
  CHECK(parse_chat_response(R"({"choices": []})").error.find("choices[0]") != std::string::npos);
  CHECK(parse_chat_response(R"({"error": {"message": "no such model"}})").error.find("no such model") !=
        std::string::npos);

  ::unsetenv("KFOLD_LLM_URL");
  CHECK(!llm_config_from_environment());
  ::setenv("KFOLD_LLM_URL", "http://localhost:8000/v1/chat/completions", 1);
  ::unsetenv("KFOLD_LLM_MODEL");
  ::unsetenv("KFOLD_LLM_TIMEOUT");
  const auto from_env = llm_config_from_environment();
  REQUIRE(from_env);
  CHECK(from_env->model == "default");
  CHECK(from_env->timeout_seconds == 60.0);
  ::setenv("KFOLD_LLM_TIMEOUT", "soon", 1);
  CHECK_THROWS_AS(llm_config_from_environment(), kfold::InputError);
  ::unsetenv("KFOLD_LLM_TIMEOUT");
  ::unsetenv("KFOLD_LLM_URL");

  // The URL as outputs show it: no user:password@, no query string (API keys).
  CHECK(url_for_display("http://user:secret@host:8000/v1/chat?api_key=K&x=1") == "http://***@host:8000/v1/chat?***");
  CHECK(url_for_display("https://host/v1/chat/completions") == "https://host/v1/chat/completions");
  CHECK(url_for_display("http://host/a@b") == "http://host/a@b");

  // Port 1 on the loopback: refused at once; an error, not an exception.
  config.timeout_seconds = 5.0;
  const ChatReply refused = post_chat_request(config, chat_request_body(config, "sys", "usr"));
  CHECK(!refused.ok());
  CHECK(!refused.error.empty());

  // A server that accepts the connection and never answers, and a timeout under a millisecond: it times
  // out (libcurl reads a timeout of 0 ms as none: the call hung forever).
  const int server = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(server >= 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(server, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  REQUIRE(::listen(server, 1) == 0);
  socklen_t length = sizeof address;
  REQUIRE(::getsockname(server, reinterpret_cast<sockaddr*>(&address), &length) == 0);
  config.url = "http://127.0.0.1:" + std::to_string(ntohs(address.sin_port)) + "/v1/chat/completions";
  config.timeout_seconds = 0.0001;
  const ChatReply silent = post_chat_request(config, chat_request_body(config, "sys", "usr"));
  ::close(server);
  CHECK(!silent.ok());
}
