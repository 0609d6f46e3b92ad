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

// A DNS-1123 label (lower-case letters, digits and '-', starting and ending
// with a letter or digit, at most 63 characters): a name that can be a
// folder and a CSV value anywhere.
bool IsDnsLabel(const std::string& name);

}  // namespace platsim::platform

#endif  // PLATSIM_PLATFORM_NAMES_H_
