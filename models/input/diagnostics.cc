#include "models/input/diagnostics.h"

namespace platsim::input {

std::string Format(const Diagnostic& d) {
  std::string out = d.location.file.empty() ? "<input>" : d.location.file;
  if (d.location.line > 0) {
    out += ':' + std::to_string(d.location.line);
    if (d.location.column > 0) out += ':' + std::to_string(d.location.column);
  }
  out += ": ";
  if (d.severity == Severity::kWarning) out += "warning: ";
  if (!d.path.empty()) out += d.path + ": ";
  out += d.message;
  return out;
}

void Diagnostics::Error(const Location& at, std::string path, std::string message) {
  all_.push_back({Severity::kError, at, std::move(path), std::move(message)});
  ++errors_;
}

void Diagnostics::Warning(const Location& at, std::string path, std::string message) {
  all_.push_back({Severity::kWarning, at, std::move(path), std::move(message)});
}

}  // namespace platsim::input
