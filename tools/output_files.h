// The files a run writes, written so that they can be trusted: a file with
// its final name is always whole, a failed write is reported at once with the
// file and the reason, and a run never mixes its files with an older run's.
//
// OutputFile writes NAME.partial and renames it to NAME on Commit(). An
// OutputFolder checks, before a run, that the folder holds no results of
// another scenario (unless forced), and removes the previous run's files so
// that what is there afterwards is all of one run.
#ifndef PLATSIM_TOOLS_OUTPUT_FILES_H_
#define PLATSIM_TOOLS_OUTPUT_FILES_H_

#include <filesystem>
#include <memory>
#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

namespace platsim::tools {

// A file that could not be created, written or renamed. what() reads
// "PATH: write failed: No space left on device".
class OutputError : public std::runtime_error {
 public:
  OutputError(const std::filesystem::path& path, const std::string& action, int errno_value);
};

class OutputFile {
 public:
  // Creates (or truncates) `path` + ".partial". Throws OutputError.
  explicit OutputFile(std::filesystem::path path);
  // Removes the partial file unless committed.
  ~OutputFile();
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  // The stream to write to. A failed write throws OutputError out of the
  // writing call (the stream's badbit exception), so it surfaces at once.
  std::ostream& stream();
  // Flushes and closes; nothing more may be written. Throws OutputError.
  void Close();
  // Closes (if not yet closed) and renames to the final name. Throws
  // OutputError. Close every file of a set before committing any, so that a
  // late write failure leaves none of them under its final name.
  void Commit();
  const std::filesystem::path& path() const { return path_; }

 private:
  class Buffer;
  std::filesystem::path path_;
  std::filesystem::path partial_;
  std::unique_ptr<Buffer> buffer_;
  std::unique_ptr<std::ostream> stream_;
  bool closed_ = false;
  bool committed_ = false;
};

// The run outputs' file names, in the order they are committed: summary.json
// last, as the mark that the others are in place.
inline const std::vector<std::string>& RunOutputNames() {
  static const std::vector<std::string> names = {"timeseries.csv", "events.jsonl", "trace.json",
                                                 "summary.json"};
  return names;
}

// Makes `dir` ready for a run of the scenario `scenario_name` read from
// `scenario_file`: creates it, refuses (returns the reason) if it holds run
// outputs that are not an earlier run of this scenario and `force` is false,
// then removes the earlier run's outputs. Returns "" when ready.
std::string PrepareOutputFolder(const std::filesystem::path& dir, const std::string& scenario_name,
                                const std::string& scenario_file, bool force);

}  // namespace platsim::tools

#endif  // PLATSIM_TOOLS_OUTPUT_FILES_H_
