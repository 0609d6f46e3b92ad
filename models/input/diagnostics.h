// Problems found in user input, collected so that all of them are reported
// at once, each as `file:line:col: field.path: what is wrong`.
#ifndef PLATSIM_MODELS_INPUT_DIAGNOSTICS_H_
#define PLATSIM_MODELS_INPUT_DIAGNOSTICS_H_

#include <string>
#include <vector>

namespace platsim::input {

// Where in which file. Line and column are 1-based; 0 means unknown.
struct Location {
  std::string file;
  int line = 0;
  int column = 0;
};

enum class Severity { kError, kWarning };

struct Diagnostic {
  Severity severity;
  Location location;
  std::string path;  // field path, e.g. spec.services[0].traffic.rate; may be empty
  std::string message;
};

// `file:line:col: [warning: ]path: message`, always one line: control
// characters in any part are escaped (\n, \xNN).
std::string Format(const Diagnostic& d);

class Diagnostics {
 public:
  void Error(const Location& at, std::string path, std::string message);
  void Warning(const Location& at, std::string path, std::string message);

  bool has_errors() const { return errors_ > 0; }
  int error_count() const { return errors_; }
  const std::vector<Diagnostic>& all() const { return all_; }

 private:
  std::vector<Diagnostic> all_;
  int errors_ = 0;
};

}  // namespace platsim::input

#endif  // PLATSIM_MODELS_INPUT_DIAGNOSTICS_H_
