// A latency surface measured on a grid (batch size x sequence length, or
// batch size x KV length), as a GPU profile records it.
//
// Inside the grid: exact at grid points, bilinear between them. Outside: the
// value at the nearest point of the grid's edge plus the change predicted by
// a least-squares fit t = c0 + c1 x + c2 y + c3 x y (Eigen), so the surface
// is continuous at the edge and follows the fitted trend beyond it. The
// basis matches how transformer work scales: prefill compute grows with
// batch x tokens, decode KV reads with batch x KV length.
#ifndef PLATSIM_MODELS_LATENCY_GRID_H_
#define PLATSIM_MODELS_LATENCY_GRID_H_

#include <array>
#include <string>
#include <vector>

namespace platsim::models {

class LatencyGrid {
 public:
  // REQUIRES: xs and ys strictly increasing, each with at least 2 values;
  // seconds has xs.size() * ys.size() entries, row-major (x major), all > 0.
  LatencyGrid(std::vector<double> xs, std::vector<double> ys, std::vector<double> seconds);

  double Seconds(double x, double y) const;
  const std::array<double, 4>& fit() const { return fit_; }

  // Leave-one-out check of the extrapolating fit: for each grid point, refit
  // without it and compare the prediction with the measurement.
  struct FitCheck {
    double max_relative_error = 0.0;
    double mean_relative_error = 0.0;
    int points = 0;
  };
  FitCheck CheckFit() const;

  // The measured range of each axis.
  double min_x() const { return xs_.front(); }
  double max_x() const { return xs_.back(); }
  double min_y() const { return ys_.front(); }
  double max_y() const { return ys_.back(); }
  // "" if every (x, y) with x in [1, max_x] and y in [y_low, y_high] lies
  // inside the measured grid; otherwise how far beyond it they reach and
  // the fit's held-out error there, for a warning (`x_name`, `y_name` name
  // the axes).
  std::string Beyond(double max_x, double y_low, double y_high, const char* x_name,
                     const char* y_name) const;

 private:
  double At(std::size_t i, std::size_t j) const { return seconds_[i * ys_.size() + j]; }
  double Fitted(double x, double y) const;
  double Interpolate(double x, double y) const;  // REQUIRES: inside the grid

  std::vector<double> xs_, ys_, seconds_;
  std::array<double, 4> fit_{};
};

// Least-squares coefficients of t = c0 + c1 x + c2 y + c3 x y over points
// (x[i], y[i], t[i]). REQUIRES: at least 4 points not all on one line.
std::array<double, 4> FitBilinearTrend(const std::vector<double>& x, const std::vector<double>& y,
                                       const std::vector<double>& t);

}  // namespace platsim::models

#endif  // PLATSIM_MODELS_LATENCY_GRID_H_
