#include "models/service_time.h"

#include <cmath>

namespace platsim::models {

using input::Diagnostics;
using input::MapReader;
using input::Node;

LogNormalServiceTime::LogNormalServiceTime(double mean_s, double cv) : mean_s_(mean_s) {
  const double sigma2 = std::log1p(cv * cv);
  sigma_ = std::sqrt(sigma2);
  mu_ = std::log(mean_s) - sigma2 / 2.0;
}

BatchLatencyTable::BatchLatencyTable(std::vector<Point> points) : points_(std::move(points)) {}

double BatchLatencyTable::LatencySeconds(int batch_size) const {
  if (points_.size() == 1 || batch_size <= points_.front().batch_size) {
    return points_.front().latency_s;
  }
  std::size_t hi = 1;
  while (hi + 1 < points_.size() && points_[hi].batch_size < batch_size)
    ++hi;
  const Point& a = points_[hi - 1];
  const Point& b = points_[hi];
  const double slope = (b.latency_s - a.latency_s) / (b.batch_size - a.batch_size);
  // Past the last point the line may slope down if the profile does; never
  // let it go below the last measured latency.
  const double value = a.latency_s + slope * (batch_size - a.batch_size);
  return batch_size > b.batch_size ? std::max(value, b.latency_s) : value;
}

std::unique_ptr<BatchLatencyTable> ReadLatencyProfile(const std::filesystem::path& path,
                                                      const std::string& display_name,
                                                      Diagnostics& diags) {
  const int errors_before = diags.error_count();
  auto source = input::LoadYamlFile(path.string(), display_name, diags);
  if (!source) return nullptr;
  if (source->documents.size() != 1) {
    diags.Error({display_name, 1, 1}, "", "expected exactly one document in a latency profile");
    return nullptr;
  }
  MapReader m(source->documents[0], diags);
  const auto api = m.RequiredString("apiVersion");
  if (api && *api != "platsim.dev/v1alpha1") {
    diags.Error(m.Get("apiVersion").location(), "apiVersion",
                "unsupported (got '" + *api + "', expected platsim.dev/v1alpha1)");
  }
  const auto kind = m.RequiredString("kind");
  if (kind && *kind != "LatencyProfile") {
    diags.Error(m.Get("kind").location(), "kind",
                "wrong kind (got '" + *kind + "', expected LatencyProfile)");
  }
  m.Get("metadata");  // free-form provenance
  std::vector<BatchLatencyTable::Point> points;
  const Node table = m.Require("batchLatency");
  if (table.present() && !table.IsSequence()) {
    diags.Error(table.location(), table.path(), "expected a list of {batchSize, latencySeconds}");
  } else if (table.present()) {
    for (const Node& entry : table.Elements()) {
      MapReader e(entry, diags);
      const auto batch = e.Require("batchSize");
      const auto latency = e.RequiredNumber("latencySeconds", 1e-12, 1e6);
      e.RejectUnknown();
      const auto b = batch.present() ? input::ReadInt(batch, diags, 1, 1 << 20) : std::nullopt;
      if (!b || !latency) continue;
      if (!points.empty() && *b <= points.back().batch_size) {
        diags.Error(entry.location(), entry.path() + ".batchSize",
                    "batch sizes must strictly increase");
        continue;
      }
      points.push_back({static_cast<int>(*b), *latency});
    }
    if (points.empty() && diags.error_count() == errors_before) {
      diags.Error(table.location(), table.path(), "needs at least one entry");
    }
  }
  m.RejectUnknown();
  if (diags.error_count() != errors_before) return nullptr;
  return std::make_unique<BatchLatencyTable>(std::move(points));
}

std::unique_ptr<ServiceTimeModel> ServiceTimeFromScenario(const Node& node,
                                                          const std::filesystem::path& base_dir,
                                                          Diagnostics& diags) {
  const int errors_before = diags.error_count();
  MapReader m(node, diags);
  if (!m.Has("kind")) m.Require("kind");
  const std::string kind = m.Enum("kind", "", {"constant", "exponential", "lognormal", "profile"});
  std::unique_ptr<ServiceTimeModel> out;
  if (kind == "constant") {
    if (const auto v = m.RequiredDuration("value", 1))
      out = std::make_unique<ConstantServiceTime>(*v);
  } else if (kind == "exponential") {
    if (const auto mean = m.RequiredDuration("mean", 1)) {
      out = std::make_unique<ExponentialServiceTime>(sim::ToSeconds(*mean));
    }
  } else if (kind == "lognormal") {
    const auto mean = m.RequiredDuration("mean", 1);
    const double cv = m.Number("cv", 1.0, 1e-6, 100.0);
    if (mean) out = std::make_unique<LogNormalServiceTime>(sim::ToSeconds(*mean), cv);
  } else if (kind == "profile") {
    if (const auto file = m.RequiredString("file")) {
      const std::filesystem::path path = base_dir / *file;
      out = ReadLatencyProfile(path, path.lexically_normal().string(), diags);
    }
  }
  m.RejectUnknown();
  if (diags.error_count() != errors_before) return nullptr;
  return out;
}

}  // namespace platsim::models
