#include "models/latency_grid.h"

#include <cstdio>

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>

namespace platsim::models {
namespace {

// Index i with v[i] <= x <= v[i+1], for x inside [v.front(), v.back()].
std::size_t Segment(const std::vector<double>& v, double x) {
  const auto it = std::upper_bound(v.begin(), v.end(), x);
  const auto i = static_cast<std::size_t>(std::max<std::ptrdiff_t>(1, it - v.begin()));
  return std::min(i, v.size() - 1) - 1;
}

}  // namespace

std::array<double, 4> FitBilinearTrend(const std::vector<double>& x, const std::vector<double>& y,
                                       const std::vector<double>& t) {
  const auto n = static_cast<Eigen::Index>(t.size());
  Eigen::MatrixXd a(n, 4);
  Eigen::VectorXd b(n);
  for (Eigen::Index i = 0; i < n; ++i) {
    a(i, 0) = 1.0;
    a(i, 1) = x[i];
    a(i, 2) = y[i];
    a(i, 3) = x[i] * y[i];
    b(i) = t[i];
  }
  const Eigen::Vector4d c = a.colPivHouseholderQr().solve(b);
  return {c(0), c(1), c(2), c(3)};
}

LatencyGrid::LatencyGrid(std::vector<double> xs, std::vector<double> ys,
                         std::vector<double> seconds)
    : xs_(std::move(xs)), ys_(std::move(ys)), seconds_(std::move(seconds)) {
  std::vector<double> px, py, pt;
  for (std::size_t i = 0; i < xs_.size(); ++i) {
    for (std::size_t j = 0; j < ys_.size(); ++j) {
      px.push_back(xs_[i]);
      py.push_back(ys_[j]);
      pt.push_back(At(i, j));
    }
  }
  fit_ = FitBilinearTrend(px, py, pt);
}

double LatencyGrid::Fitted(double x, double y) const {
  return fit_[0] + fit_[1] * x + fit_[2] * y + fit_[3] * x * y;
}

double LatencyGrid::Interpolate(double x, double y) const {
  const std::size_t i = Segment(xs_, x), j = Segment(ys_, y);
  const double u = (x - xs_[i]) / (xs_[i + 1] - xs_[i]);
  const double v = (y - ys_[j]) / (ys_[j + 1] - ys_[j]);
  return (1 - u) * (1 - v) * At(i, j) + u * (1 - v) * At(i + 1, j) + (1 - u) * v * At(i, j + 1) +
         u * v * At(i + 1, j + 1);
}

double LatencyGrid::Seconds(double x, double y) const {
  const double cx = std::clamp(x, xs_.front(), xs_.back());
  const double cy = std::clamp(y, ys_.front(), ys_.back());
  const double inside = Interpolate(cx, cy);
  if (cx == x && cy == y) return inside;
  // Beyond the edge: follow the fitted trend from the edge value, never
  // below the edge value when the trend would fall (latency does not drop
  // as work grows).
  return std::max(inside, inside + Fitted(x, y) - Fitted(cx, cy));
}

LatencyGrid::FitCheck LatencyGrid::CheckFit() const {
  FitCheck check;
  const std::size_t n = xs_.size() * ys_.size();
  if (n <= 4) return check;  // a fit of 4 coefficients needs a fifth point to test
  for (std::size_t held = 0; held < n; ++held) {
    std::vector<double> px, py, pt;
    for (std::size_t k = 0; k < n; ++k) {
      if (k == held) continue;
      px.push_back(xs_[k / ys_.size()]);
      py.push_back(ys_[k % ys_.size()]);
      pt.push_back(seconds_[k]);
    }
    const auto c = FitBilinearTrend(px, py, pt);
    const double x = xs_[held / ys_.size()], y = ys_[held % ys_.size()];
    const double predicted = c[0] + c[1] * x + c[2] * y + c[3] * x * y;
    const double error = std::fabs(predicted - seconds_[held]) / seconds_[held];
    check.max_relative_error = std::max(check.max_relative_error, error);
    check.mean_relative_error += error;
    ++check.points;
  }
  check.mean_relative_error /= check.points;
  return check;
}

std::string LatencyGrid::Beyond(double max_x, double y_low, double y_high, const char* x_name,
                                const char* y_name) const {
  auto number = [](double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", v);
    return std::string(buf);
  };
  std::string out;
  if (max_x > xs_.back() || xs_.front() > 1) {
    out += std::string(x_name) + " 1 to " + number(max_x) + " (measured " + number(xs_.front()) +
           " to " + number(xs_.back()) + ")";
  }
  if (y_low < ys_.front() || y_high > ys_.back()) {
    if (!out.empty()) out += " and ";
    out += std::string(y_name) + " " + number(y_low) +
           (y_high != y_low ? " to " + number(y_high) : std::string()) + " (measured " +
           number(ys_.front()) + " to " + number(ys_.back()) + ")";
  }
  if (out.empty()) return out;
  const FitCheck check = CheckFit();
  char error[128];
  if (check.points > 0) {
    std::snprintf(error, sizeof error,
                  "; there it follows the fit, whose held-out relative error is mean %.1f%%, "
                  "max %.1f%% (platsim profile --check)",
                  100 * check.mean_relative_error, 100 * check.max_relative_error);
  } else {
    std::snprintf(error, sizeof error, "; the grid has too few points to check its fit");
  }
  return out + error;
}

}  // namespace platsim::models
