#include "platform/serving/request.h"

namespace platsim::platform {

RequestId RequestTable::Grow() {
  requests_.emplace_back();
  if (tokens_enabled_) tokens_.emplace_back();
  return static_cast<RequestId>(requests_.size() - 1);
}

}  // namespace platsim::platform
