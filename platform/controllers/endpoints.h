// The endpoints controller: keeps one Endpoints object per Service, listing
// the pods its selector matches with their conditions.
//
// Follows kubernetes/kubernetes pkg/controller/endpointslice: a pod or
// Service change queues the Service (after endpointUpdatesBatchPeriod,
// default 0: at once); a sync lists the selected pods that should be
// endpoints (endpointslice util ShouldPodBeInEndpoints: not in a terminal
// phase and with an IP, here: its containers started) and writes the
// object if it differs. Terminating pods stay listed, not ready (utils.go
// podToEndpoint). A Service without a selector gets no object, as upstream
// leaves its endpoints to the user.
#ifndef PLATSIM_PLATFORM_CONTROLLERS_ENDPOINTS_H_
#define PLATSIM_PLATFORM_CONTROLLERS_ENDPOINTS_H_

#include <map>
#include <string>
#include <vector>

#include "platform/api_server.h"
#include "platform/controller.h"
#include "platform/index.h"

namespace platsim::platform {

class EndpointsController : public Reconciler {
 public:
  // Borrows everything; registers its watches.
  EndpointsController(sim::Engine& engine, ApiServer& api, EventSink& events);

  Result Reconcile(const std::string& key) override;
  const char* Name() const override { return "EndpointSlice"; }

 private:
  void OnPod(WatchType type, const Pod& pod);

  ApiServer& api_;
  WorkQueue queue_;
  std::map<std::string, std::vector<Endpoint>> written_;  // last written, by Service key
  KeyIndex pods_by_label_;                                // by "namespace/key=value"
  KeyIndex services_by_label_;  // Services by the pairs of their selectors
};

}  // namespace platsim::platform

#endif  // PLATSIM_PLATFORM_CONTROLLERS_ENDPOINTS_H_
