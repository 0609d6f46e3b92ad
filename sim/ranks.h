// Ranks: one run spread over several processes (platsim-mpi), each a rank.
// The interface the platform needs of them; tools/platsim_mpi.cc
// implements it on MPI. Every call but Abort is collective: every rank
// makes the same calls in the same order.
#ifndef PLATSIM_SIM_RANKS_H_
#define PLATSIM_SIM_RANKS_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

namespace platsim::sim {

class Ranks {
 public:
  virtual ~Ranks() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // Rank `root`'s `bytes` on every rank; the same size on each.
  virtual void Broadcast(std::span<std::byte> bytes, int root) = 0;
  // The largest, and the sum, of every rank's `x`.
  virtual std::uint64_t Max(std::uint64_t x) = 0;
  virtual std::uint64_t Sum(std::uint64_t x) = 0;
  // Ends every rank's process with exit status `status`, after `message`
  // on this one's standard error. Not collective: any rank may call it.
  [[noreturn]] virtual void Abort(const std::string& message, int status) = 0;

  // Rank `root`'s `value`, on every rank.
  template <class T>
  T BroadcastValue(T value, int root) {
    static_assert(std::is_trivially_copyable_v<T>);
    Broadcast(std::as_writable_bytes(std::span<T>(&value, 1)), root);
    return value;
  }
  // Rank `root`'s `bytes`, of whatever size, on every rank.
  void BroadcastBytes(std::vector<std::byte>& bytes, int root) {
    const std::uint64_t size = BroadcastValue<std::uint64_t>(bytes.size(), root);
    bytes.resize(size);
    Broadcast(bytes, root);
  }
};

// Values written to bytes and read back in the same order, on another rank
// of the same binary.
class ByteWriter {
 public:
  explicit ByteWriter(std::vector<std::byte>& out) : out_(out) {}
  template <class T>
  void Put(const T& value) {
    static_assert(std::is_trivially_copyable_v<T>);
    const std::size_t at = out_.size();
    out_.resize(at + sizeof(T));
    std::memcpy(out_.data() + at, &value, sizeof(T));
  }
  template <class T>
  void PutVector(const std::vector<T>& values) {
    static_assert(std::is_trivially_copyable_v<T>);
    Put<std::uint64_t>(values.size());
    const std::size_t at = out_.size();
    out_.resize(at + values.size() * sizeof(T));
    if (!values.empty()) std::memcpy(out_.data() + at, values.data(), values.size() * sizeof(T));
  }

 private:
  std::vector<std::byte>& out_;
};

class ByteReader {
 public:
  explicit ByteReader(std::span<const std::byte> in) : in_(in) {}
  template <class T>
  T Get() {
    static_assert(std::is_trivially_copyable_v<T>);
    T value;
    std::memcpy(&value, Take(sizeof(T)), sizeof(T));
    return value;
  }
  template <class T>
  void GetVector(std::vector<T>& values) {
    const auto n = Get<std::uint64_t>();
    values.resize(n);
    if (n > 0) std::memcpy(values.data(), Take(n * sizeof(T)), n * sizeof(T));
  }

 private:
  // The next `n` bytes. REQUIRES: they were written (the same binary wrote
  // them in the same order).
  const std::byte* Take(std::size_t n) {
    const std::byte* p = in_.data() + at_;
    at_ += n;
    return p;
  }
  std::span<const std::byte> in_;
  std::size_t at_ = 0;
};

}  // namespace platsim::sim

#endif  // PLATSIM_SIM_RANKS_H_
