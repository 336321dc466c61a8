// Strict JSON input: nlohmann's parser with a callback that tracks each open object's keys and the path to it.
#include "data/json_input.hpp"

#include <nlohmann/json.hpp>

#include <set>
#include <string>
#include <vector>

#include "data/error.hpp"
#include "data/json_error.hpp"

namespace kfold::data {
namespace {

// One open object or array and what it has seen so far. Paths ("model.heads", "results[2]") are built from the
// frames only for a message: a path kept in every frame made memory quadratic in the nesting depth (1.3 GB for
// a 60 KB file of nested arrays).
struct Frame {
  bool object = false;
  std::set<std::string> keys;  // objects: the keys read
  std::string last_key;        // objects: the key whose value is being read
  size_t elements = 0;         // arrays: the elements finished
};

class DuplicateKeyCheck {
 public:
  explicit DuplicateKeyCheck(std::string_view source) : source_(source) {}

  bool operator()(int /*depth*/, nlohmann::json::parse_event_t event, const nlohmann::json& parsed) {
    using Event = nlohmann::json::parse_event_t;
    switch (event) {
      case Event::object_start:
      case Event::array_start:
        stack_.push_back({event == Event::object_start, {}, {}, 0});
        break;
      case Event::object_end:
      case Event::array_end:
        stack_.pop_back();
        child_done();
        break;
      case Event::key: {
        Frame& top = stack_.back();
        top.last_key = parsed.get<std::string>();
        if (!top.keys.insert(top.last_key).second) {
          const std::string path = path_to(stack_.size() - 1);
          fail_input("{}: key '{}' appears twice{}; keep one of them", source_, path_to(stack_.size()),
                     path.empty() ? "" : fmt::format(" in '{}'", path));
        }
        break;
      }
      case Event::value:
        child_done();
        break;
    }
    return true;
  }

 private:
  // The path of the value being read in the first `depth` open frames (stack_.size(): the value being read now).
  std::string path_to(size_t depth) const {
    std::string path;
    for (size_t i = 0; i < depth; ++i) {
      const Frame& f = stack_[i];
      if (!f.object)
        path += fmt::format("[{}]", f.elements);
      else
        path += path.empty() ? f.last_key : "." + f.last_key;
    }
    return path;
  }
  void child_done() {
    if (!stack_.empty() && !stack_.back().object) ++stack_.back().elements;
  }

  std::string_view source_;
  std::vector<Frame> stack_;
};

}  // namespace

nlohmann::json parse_json_input(std::string_view text, std::string_view source) {
  try {
    return nlohmann::json::parse(text.begin(), text.end(), DuplicateKeyCheck(source));
  } catch (const nlohmann::json::exception& e) {  // parse_error, and out_of_range for numbers past double's range
    fail_input("{}: invalid JSON: {}", source, json_error_text(e));
  }
}

}  // namespace kfold::data
