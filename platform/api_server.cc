#include "platform/api_server.h"

namespace platsim::platform {

ApiServer::ApiServer(sim::Engine& engine, sim::Time request_latency)
    : engine_(engine), request_latency_(request_latency) {}

void ApiServer::Later(std::function<WriteStatus()> apply, WriteCallback done) {
  engine_.ScheduleCallbackAfter(request_latency_,
                                [this, apply = std::move(apply), done = std::move(done)] {
                                  const WriteStatus status = apply();
                                  if (status == WriteStatus::kOk) ++writes_applied_;
                                  if (done) done(status);
                                });
}

}  // namespace platsim::platform
