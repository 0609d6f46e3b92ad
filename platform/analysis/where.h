// Where in a one-line-or-more expression an error is, for the messages of
// the PromQL and condition parsers.
#ifndef PLATSIM_PLATFORM_ANALYSIS_WHERE_H_
#define PLATSIM_PLATFORM_ANALYSIS_WHERE_H_

#include <algorithm>
#include <string>
#include <string_view>

namespace platsim::platform::analysis {

// "column C" for byte offset `pos` of `text`, or "line L, column C" past the
// first line.
inline std::string Where(std::string_view text, std::size_t pos) {
  pos = std::min(pos, text.size());
  int line = 1;
  std::size_t line_start = 0;
  for (std::size_t i = 0; i < pos; ++i) {
    if (text[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  }
  const std::string column = "column " + std::to_string(pos - line_start + 1);
  return line == 1 ? column : "line " + std::to_string(line) + ", " + column;
}

}  // namespace platsim::platform::analysis

#endif  // PLATSIM_PLATFORM_ANALYSIS_WHERE_H_
