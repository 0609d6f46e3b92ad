// Engine benches.
//
// Hold: the classic pending-event-set benchmark (Jones, CACM 1986): with n
// events pending, each operation pops the earliest and pushes one at that
// time plus an exponential increment, so n stays constant.
//
// M/M/8: a queue written with the engine's public API as a user would
// (an EventHandler, events carrying a kind, a FIFO of waiting customers),
// at utilisation 0.9, for 1,000,000 customers; reports events per second.
#include <benchmark/benchmark.h>

#include <deque>
#include <vector>

#include "sim/engine.h"
#include "sim/event_queue.h"
#include "sim/random.h"

namespace platsim::sim {
namespace {

void BM_Hold(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  EventQueue q;
  RandomStream rng(1);
  // Mean increment 1ms in integer nanoseconds.
  for (std::size_t i = 0; i < n; ++i)
    q.Push(FromSeconds(rng.Exponential(1e-3) * n), 1, i);
  for (auto _ : state) {
    const Event e = q.Pop();
    q.Push(e.time + FromSeconds(rng.Exponential(1e-3)), 1, e.payload);
  }
  benchmark::DoNotOptimize(q.size());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Hold)->Arg(1000)->Arg(100000)->Arg(1000000);

class MMc : public EventHandler {
 public:
  MMc(Engine& engine, int servers, double rho, std::uint64_t customers)
      : engine_(engine),
        servers_(servers),
        mean_service_s_(0.01),
        mean_gap_s_(mean_service_s_ / (rho * servers)),
        customers_(customers),
        arrivals_(engine.Stream("arrivals")),
        service_(engine.Stream("service")) {
    handler_ = engine_.AddHandler(this);
  }
  void Start() { engine_.ScheduleAfter(Gap(), handler_, kArrival); }
  void OnEvent(std::uint64_t kind) override {
    if (kind == kArrival) {
      if (++arrived_ < customers_) engine_.ScheduleAfter(Gap(), handler_, kArrival);
      if (busy_ < servers_) {
        ++busy_;
        engine_.ScheduleAfter(Service(), handler_, kDeparture);
      } else {
        waiting_.push_back(engine_.Now());
      }
    } else {
      ++departed_;
      if (!waiting_.empty()) {
        waiting_.pop_front();
        engine_.ScheduleAfter(Service(), handler_, kDeparture);
      } else {
        --busy_;
      }
    }
  }
  std::uint64_t departed() const { return departed_; }

 private:
  static constexpr std::uint64_t kArrival = 0, kDeparture = 1;
  Time Gap() { return FromSeconds(arrivals_.Exponential(mean_gap_s_)); }
  Time Service() { return FromSeconds(service_.Exponential(mean_service_s_)); }

  Engine& engine_;
  HandlerId handler_;
  const int servers_;
  const double mean_service_s_;
  const double mean_gap_s_;
  const std::uint64_t customers_;
  RandomStream arrivals_;
  RandomStream service_;
  std::deque<Time> waiting_;
  int busy_ = 0;
  std::uint64_t arrived_ = 0;
  std::uint64_t departed_ = 0;
};

void BM_MM8(benchmark::State& state) {
  std::uint64_t events = 0;
  std::uint64_t seed = 1;
  for (auto _ : state) {
    Engine engine(seed++);
    MMc model(engine, 8, 0.9, 1'000'000);
    model.Start();
    engine.Run();
    events += engine.events_executed();
    benchmark::DoNotOptimize(model.departed());
  }
  state.counters["events_per_s"] =
      benchmark::Counter(static_cast<double>(events), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_MM8)->Unit(benchmark::kMillisecond);

// The same M/M/8 on a bare hand-written 4-ary heap of (time, sequence, kind)
// with no engine at all: the floor the engine is compared against. Same
// random streams, so it simulates the same customers.
void BM_MM8_BareHeap(benchmark::State& state) {
  struct Item {
    Time time;
    std::uint64_t seq_kind;  // sequence << 1 | kind
  };
  auto less = [](const Item& a, const Item& b) {
    return a.time < b.time || (a.time == b.time && a.seq_kind < b.seq_kind);
  };
  std::uint64_t events = 0;
  std::uint64_t seed = 1;
  for (auto _ : state) {
    Engine streams(seed++);
    RandomStream arrivals = streams.Stream("arrivals");
    RandomStream service = streams.Stream("service");
    std::vector<Item> heap;
    std::uint64_t seq = 0;
    auto push = [&](Time t, std::uint64_t kind) {
      Item e{t, seq++ << 1 | kind};
      std::size_t i = heap.size();
      heap.push_back(e);
      while (i > 0) {
        const std::size_t parent = (i - 1) / 4;
        if (!less(e, heap[parent])) break;
        heap[i] = heap[parent];
        i = parent;
      }
      heap[i] = e;
    };
    auto pop = [&]() {
      const Item top = heap[0];
      const Item last = heap.back();
      heap.pop_back();
      const std::size_t n = heap.size();
      std::size_t i = 0;
      if (n > 0) {
        for (;;) {
          const std::size_t first = 4 * i + 1;
          if (first >= n) break;
          std::size_t best = first;
          for (std::size_t c = first + 1; c < first + 4 && c < n; ++c) {
            if (less(heap[c], heap[best])) best = c;
          }
          if (!less(heap[best], last)) break;
          heap[i] = heap[best];
          i = best;
        }
        heap[i] = last;
      }
      return top;
    };
    const double mean_service_s = 0.01, mean_gap_s = mean_service_s / (0.9 * 8);
    std::deque<Time> waiting;
    int busy = 0;
    std::uint64_t arrived = 0;
    Time now = 0;
    push(FromSeconds(arrivals.Exponential(mean_gap_s)), 0);
    while (!heap.empty()) {
      const Item e = pop();
      now = e.time;
      ++events;
      if ((e.seq_kind & 1) == 0) {
        if (++arrived < 1'000'000) push(now + FromSeconds(arrivals.Exponential(mean_gap_s)), 0);
        if (busy < 8) {
          ++busy;
          push(now + FromSeconds(service.Exponential(mean_service_s)), 1);
        } else {
          waiting.push_back(now);
        }
      } else if (!waiting.empty()) {
        waiting.pop_front();
        push(now + FromSeconds(service.Exponential(mean_service_s)), 1);
      } else {
        --busy;
      }
    }
    benchmark::DoNotOptimize(now);
  }
  state.counters["events_per_s"] =
      benchmark::Counter(static_cast<double>(events), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_MM8_BareHeap)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace platsim::sim
