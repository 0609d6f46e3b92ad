// `platsim profile --model NAME --out FILE`, shared by the platsim command
// line and gpu/'s own `platsim-profile` (which builds on a GPU machine
// without the rest of platsim's dependencies).
#ifndef PLATSIM_GPU_PROFILE_COMMAND_H_
#define PLATSIM_GPU_PROFILE_COMMAND_H_

#include <ostream>
#include <string>

namespace platsim::gpu {

struct ProfileCommand {
  std::string model;
  std::string out;
  std::string catalogue;  // models.json
  int warmup = 5;
  int repetitions = 30;
  bool progress = true;  // a line per step on `err`
};

// Profiles `model` on the current CUDA device and writes the profile to
// `out` (through `out`.partial, renamed when complete, so a failed run
// leaves no half-written profile). Returns 0, 1 (no device, or a CUDA
// failure: nothing written) or 2 (bad input: unknown model, bad flags,
// unwritable output).
int RunProfileCommand(const ProfileCommand& command, std::ostream& out, std::ostream& err);

}  // namespace platsim::gpu

#endif  // PLATSIM_GPU_PROFILE_COMMAND_H_
