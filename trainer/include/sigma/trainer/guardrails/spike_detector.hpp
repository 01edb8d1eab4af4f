// Loss-spike detection over a moving window of accepted losses: a loss is a spike when it lies more than
// `mads` scaled median absolute deviations (1.4826 x MAD, the normal-consistent spread) above the window's
// median and at least `min_rise` (a fraction) above it. Median and MAD ignore the outliers they look for, so
// one earlier spike or a noisy step does not move the threshold the way a mean and standard deviation would.
#pragma once

#include <deque>
#include <optional>
#include <utility>

namespace sigma::trainer {

struct SpikeVerdict {
  bool spike = false;
  double median = 0, threshold = 0;
};

class SpikeDetector {
 public:
  SpikeDetector(int window, double mads, double min_rise) : window_(window), mads_(mads), min_rise_(min_rise) {}

  // Whether `loss` at `step` is a spike against the window; only a full window judges (a fresh start or a
  // rollback refills it first). Does not add the loss: accept() does, once the step is taken.
  SpikeVerdict judge(double loss) const;
  void accept(int step, double loss);
  // After a rollback to `step`: forget the losses of later steps (they are trained again).
  void forget_after(int step);

 private:
  int window_;
  double mads_, min_rise_;
  std::deque<std::pair<int, double>> losses_;  // (step, loss), oldest first
};

}  // namespace sigma::trainer
