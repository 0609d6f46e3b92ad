// A FIFO of trivially copyable values in a power-of-two ring that grows by
// doubling and never shrinks: no allocation once it has reached its peak.
#ifndef PLATSIM_PLATFORM_RING_QUEUE_H_
#define PLATSIM_PLATFORM_RING_QUEUE_H_

#include <cstddef>
#include <vector>

namespace platsim::platform {

template <class T>
class RingQueue {
 public:
  bool empty() const { return size_ == 0; }
  std::size_t size() const { return size_; }
  // REQUIRES: !empty().
  const T& front() const { return buf_[head_]; }
  // The i-th value from the front. REQUIRES: i < size().
  const T& operator[](std::size_t i) const { return buf_[(head_ + i) & (buf_.size() - 1)]; }
  T& operator[](std::size_t i) { return buf_[(head_ + i) & (buf_.size() - 1)]; }
  void push_back(const T& v) {
    if (size_ == buf_.size()) Grow();
    buf_[(head_ + size_) & (buf_.size() - 1)] = v;
    ++size_;
  }
  // REQUIRES: !empty().
  T pop_front() {
    const T v = buf_[head_];
    head_ = (head_ + 1) & (buf_.size() - 1);
    --size_;
    return v;
  }
  void clear() {
    head_ = 0;
    size_ = 0;
  }

 private:
  void Grow() {
    std::vector<T> bigger(buf_.empty() ? 16 : buf_.size() * 2);
    for (std::size_t i = 0; i < size_; ++i)
      bigger[i] = (*this)[i];
    buf_.swap(bigger);
    head_ = 0;
  }
  std::vector<T> buf_;
  std::size_t head_ = 0;
  std::size_t size_ = 0;
};

}  // namespace platsim::platform

#endif  // PLATSIM_PLATFORM_RING_QUEUE_H_
