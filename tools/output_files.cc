#include "tools/output_files.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <streambuf>

#include "platform/names.h"

namespace platsim::tools {

namespace fs = std::filesystem;

OutputError::OutputError(const fs::path& path, const std::string& action, int errno_value)
    : std::runtime_error(path.string() + ": " + action + " failed: " + std::strerror(errno_value)) {
}

// A stream buffer over a file descriptor that throws on the first failed
// write, instead of setting a flag that is only looked at after the run.
class OutputFile::Buffer : public std::streambuf {
 public:
  Buffer(int fd, fs::path path) : fd_(fd), path_(std::move(path)) {
    setp(data_, data_ + sizeof data_);
  }
  ~Buffer() override {
    if (fd_ >= 0) ::close(fd_);
  }

  // Writes what is buffered, makes it durable (so a file renamed to its
  // final name is whole even after a power loss) and closes.
  void Close() {
    Drain();
    if (::fsync(fd_) != 0 && errno != EINVAL) throw OutputError(path_, "write", errno);
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) throw OutputError(path_, "write", errno);
  }

 protected:
  int_type overflow(int_type c) override {
    Drain();
    if (!traits_type::eq_int_type(c, traits_type::eof())) {
      *pptr() = traits_type::to_char_type(c);
      pbump(1);
    }
    return traits_type::not_eof(c);
  }
  int sync() override {
    Drain();
    return 0;
  }

 private:
  void Drain() {
    const char* at = pbase();
    while (at < pptr()) {
      const ssize_t n = ::write(fd_, at, static_cast<std::size_t>(pptr() - at));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) throw OutputError(path_, "write", n < 0 ? errno : EIO);
      at += n;
    }
    setp(data_, data_ + sizeof data_);
  }

  int fd_;
  fs::path path_;
  char data_[1 << 16];
};

OutputFile::OutputFile(fs::path path) : path_(std::move(path)) {
  partial_ = path_;
  partial_ += ".partial";
  const int fd = ::open(partial_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw OutputError(partial_, "create", errno);
  buffer_ = std::make_unique<Buffer>(fd, partial_);
  stream_ = std::make_unique<std::ostream>(buffer_.get());
  stream_->exceptions(std::ios::badbit);
}

OutputFile::~OutputFile() {
  if (committed_) return;
  stream_.reset();
  buffer_.reset();
  std::error_code ec;
  fs::remove(partial_, ec);
}

std::ostream& OutputFile::stream() {
  return *stream_;
}

void OutputFile::Close() {
  if (closed_) return;
  stream_->flush();
  closed_ = true;
  buffer_->Close();
}

void OutputFile::Commit() {
  Close();
  std::error_code ec;
  fs::rename(partial_, path_, ec);
  if (ec) throw OutputError(path_, "rename", ec.value());
  committed_ = true;
}

namespace {

// True if `a` and `b` name the same file (both may be relative to the
// working folder).
bool SameFile(const std::string& a, const std::string& b) {
  if (a == b) return true;
  std::error_code ec1, ec2;
  const fs::path ca = fs::weakly_canonical(a, ec1), cb = fs::weakly_canonical(b, ec2);
  return !ec1 && !ec2 && ca == cb;
}

}  // namespace

std::string PrepareOutputFolder(const fs::path& dir, const std::string& scenario_name,
                                const std::string& scenario_file, bool force) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec || !fs::is_directory(dir)) {
    return "cannot create folder " + dir.string() + ": " +
           (ec ? ec.message() : std::string("not a folder"));
  }
  bool any = false;
  for (const auto& name : RunOutputNames())
    any |= fs::exists(dir / name, ec);
  // Any JSON at all may be there: read strings only where they are.
  auto text_at = [](const nlohmann::json& o, const char* key) {
    const auto it = o.find(key);
    return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  nlohmann::json previous;
  bool have_summary = false;
  if (std::ifstream in(dir / "summary.json", std::ios::binary); in) {
    have_summary = true;
    std::ostringstream text;
    text << in.rdbuf();
    previous = nlohmann::json::parse(text.str(), nullptr, false);
  }
  const bool ours = previous.is_object() &&
                    (text_at(previous, "kind") == "RunSummary" ||
                     text_at(previous, "kind") == "DesignComparison") &&
                    previous.contains("scenario") && previous["scenario"].is_object();
  if (any && !force) {
    std::string other = "run outputs with no summary.json";
    if (ours) {
      const std::string name = text_at(previous["scenario"], "name");
      const std::string file = text_at(previous["scenario"], "file");
      if (name == scenario_name && SameFile(file, scenario_file)) {
        other.clear();
      } else {
        other = "the results of scenario '" + name + "' (" + file + ")";
      }
    } else if (have_summary) {
      other = "a summary.json that platsim did not write";
    }
    if (!other.empty()) {
      return dir.string() + " holds " + other +
             "; give --force to replace them, or another --out folder";
    }
  }
  // The earlier run's files go first, so that nothing of it is left beside
  // this run's, whatever happens to this run: with several designs, those
  // of each design's folder too (a folder left empty goes with them).
  // (Partial files of a run that was killed are truncated when this run's
  // are created.)
  std::vector<fs::path> folders = {dir};
  if (ours && text_at(previous, "kind") == "DesignComparison" && previous.contains("designs") &&
      previous["designs"].is_array()) {
    for (const auto& design : previous["designs"]) {
      if (!design.is_object()) continue;
      const std::string folder = text_at(design, "folder");
      // Only a folder platsim would have written: a design's name (a
      // DNS-1123 label) naming a real folder below `dir` (not a link) that
      // holds that design's RunSummary.
      if (!platform::IsDnsLabel(folder) ||
          !fs::is_directory(fs::symlink_status(dir / folder, ec))) {
        continue;
      }
      nlohmann::json own;
      if (std::ifstream in(dir / folder / "summary.json", std::ios::binary); in) {
        std::ostringstream text;
        text << in.rdbuf();
        own = nlohmann::json::parse(text.str(), nullptr, false);
      }
      if (!own.is_object() || text_at(own, "kind") != "RunSummary" || !own.contains("design") ||
          !own["design"].is_object() || text_at(own["design"], "name") != folder) {
        continue;
      }
      folders.push_back(dir / folder);
    }
  }
  for (const fs::path& folder : folders) {
    for (const auto& name : RunOutputNames()) {
      if (!fs::remove(folder / name, ec) && ec) {
        return "cannot remove " + (folder / name).string() + ": " + ec.message();
      }
    }
    if (folder != dir && fs::is_directory(folder, ec) && fs::is_empty(folder, ec)) {
      fs::remove(folder, ec);
    }
  }
  return "";
}

}  // namespace platsim::tools
