// Object names as Kubernetes generates them.
#ifndef PLATSIM_PLATFORM_NAMES_H_
#define PLATSIM_PLATFORM_NAMES_H_

#include <string>

#include "platform/objects.h"
#include "sim/random.h"

namespace platsim::platform {

// `n` characters from the alphabet of apimachinery's rand.String (no vowels,
// no look-alike digits), as in generateName suffixes.
std::string RandomSuffix(sim::RandomStream& rng, int n);

// The pod-template-hash label value of a template: a stable hash of the
// fields platsim simulates, written in the same alphabet (10 characters).
std::string TemplateHash(const PodTemplate& t);

}  // namespace platsim::platform

#endif  // PLATSIM_PLATFORM_NAMES_H_
