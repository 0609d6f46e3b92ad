#include "models/input/diagnostics.h"

#include <cstdio>

namespace platsim::input {
namespace {

// Control characters (a newline in a value, say) written as \n or \xNN, so
// that one diagnostic is always one line.
std::string OneLine(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (u < 0x20 || u == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", u);
      out += buf;
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

std::string Format(const Diagnostic& d) {
  std::string out = d.location.file.empty() ? "<input>" : OneLine(d.location.file);
  if (d.location.line > 0) {
    out += ':' + std::to_string(d.location.line);
    if (d.location.column > 0) out += ':' + std::to_string(d.location.column);
  }
  out += ": ";
  if (d.severity == Severity::kWarning) out += "warning: ";
  if (!d.path.empty()) out += OneLine(d.path) + ": ";
  out += OneLine(d.message);
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
