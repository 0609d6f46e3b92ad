// platsim-mpi: `platsim run` as one rank of an MPI job, e.g.
//   mpirun -np 8 platsim-mpi run scenario.yaml --out results
// Every rank runs the platform's own events; each runs the Services of
// its share of the partitions (sim/ranks.h, DataPlane::SetRanks). Rank 0
// prints and writes the outputs, the same as `platsim run` writes.
#include <mpi.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <ostream>
#include <span>
#include <string>
#include <vector>

#include "sim/ranks.h"
#include "tools/cli.h"

namespace {

class MpiRanks : public platsim::sim::Ranks {
 public:
  MpiRanks() {
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  void Broadcast(std::span<std::byte> bytes, int root) override {
    // In pieces of at most 1 GiB: MPI counts in int.
    constexpr std::size_t kPiece = std::size_t{1} << 30;
    for (std::size_t at = 0; at < bytes.size(); at += kPiece) {
      const std::size_t n = std::min(kPiece, bytes.size() - at);
      MPI_Bcast(bytes.data() + at, static_cast<int>(n), MPI_BYTE, root, MPI_COMM_WORLD);
    }
  }
  std::uint64_t Max(std::uint64_t x) override {
    std::uint64_t out = 0;
    MPI_Allreduce(&x, &out, 1, MPI_UINT64_T, MPI_MAX, MPI_COMM_WORLD);
    return out;
  }
  std::uint64_t Sum(std::uint64_t x) override {
    std::uint64_t out = 0;
    MPI_Allreduce(&x, &out, 1, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD);
    return out;
  }
  [[noreturn]] void Abort(const std::string& message, int status) override {
    std::fprintf(stderr, "%s\n", message.c_str());
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, status);
    std::_Exit(status);
  }

 private:
  int rank_ = 0;
  int size_ = 1;
};

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rc = 0;
  {
    MpiRanks ranks;
    const std::vector<std::string> args(argv, argv + argc);
    // Rank 0 speaks for the run; the others' output would repeat it.
    std::ostream null(nullptr);
    std::ostream& out = ranks.rank() == 0 ? std::cout : null;
    std::ostream& err = ranks.rank() == 0 ? std::cerr : null;
    if (args.size() < 2 || args[1] != "run") {
      err << "usage: mpirun -np N platsim-mpi run SCENARIO [platsim run's flags]\n"
             "platsim-mpi runs one scenario over the ranks of an MPI job: every rank runs\n"
             "the platform's own events, and the Services of its share of the partitions;\n"
             "rank 0 writes the outputs, the same as `platsim run` writes.\n";
      rc = args.size() >= 2 && (args[1] == "--help" || args[1] == "-h") ? 0 : 2;
    } else {
      platsim::tools::CliContext ctx;
      ctx.err_is_terminal = ranks.rank() == 0 && ::isatty(STDERR_FILENO) == 1;
      ctx.ranks = &ranks;
      std::ios::sync_with_stdio(false);
      rc = platsim::tools::RunCli(args, out, err, ctx);
    }
    // A bad input stops every rank alike, before any collective call; any
    // other failure may have left the others waiting in one.
    if (rc != 0 && rc != 2 && ranks.size() > 1) {
      std::cout.flush();
      ranks.Abort("platsim-mpi: rank " + std::to_string(ranks.rank()) + " ended with status " +
                      std::to_string(rc),
                  rc);
    }
  }
  MPI_Finalize();
  return rc;
}
