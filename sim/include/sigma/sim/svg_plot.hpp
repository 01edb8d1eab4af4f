// A small line chart written directly as SVG (no plotting library is installed on the build machines):
// series on a log-scaled x axis, a linear y axis, a legend, and labelled reference lines.
#pragma once

#include <string>
#include <vector>

namespace sigma::sim {

struct ReferenceLine {
  bool horizontal = true;  // y = value when true, x = value otherwise
  double value = 0;
  std::string label;
};

struct Series {
  std::string name;
  std::string color;      // an SVG colour
  std::vector<double> x;  // positive, increasing
  std::vector<double> y;
};

struct LineChart {
  std::string title;
  std::string x_label;
  std::string y_label;
  std::vector<Series> series;  // every series has at least one point
  double y_min = 0;
  double y_max = 100;
  std::vector<ReferenceLine> references;
};

std::string to_svg(const LineChart& chart);

}  // namespace sigma::sim
