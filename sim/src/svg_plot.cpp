#include "sigma/sim/svg_plot.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace sigma::sim {
namespace {

constexpr double kWidth = 720, kHeight = 440;
constexpr double kLeft = 70, kRight = 20, kTop = 40, kBottom = 60;

struct Frame {
  double log_x0, log_x1, y0, y1;
  double px(double x) const { return kLeft + (std::log10(x) - log_x0) / (log_x1 - log_x0) * (kWidth - kLeft - kRight); }
  double py(double y) const { return kTop + (y1 - y) / (y1 - y0) * (kHeight - kTop - kBottom); }
};

std::string text(double x, double y, const std::string& body, const char* anchor = "middle") {
  return fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"{}\">{}</text>\n", x, y, anchor, body);
}

std::string line(double x0, double y0, double x1, double y1, const char* style) {
  return fmt::format("<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" {}/>\n", x0, y0, x1, y1, style);
}

std::string line_segment(double x0, double y0, double x1, double y1, const std::string& color) {
  return line(x0, y0, x1, y1, fmt::format("stroke=\"{}\" stroke-width=\"2\"", color).c_str());
}

std::string axes(const Frame& f, const LineChart& c) {
  std::string out;
  const double bottom = kHeight - kBottom, right = kWidth - kRight;
  out += line(kLeft, bottom, right, bottom, "stroke=\"black\"");
  out += line(kLeft, kTop, kLeft, bottom, "stroke=\"black\"");
  for (int decade = static_cast<int>(std::ceil(f.log_x0)); decade <= f.log_x1; ++decade) {
    const double x = f.px(std::pow(10.0, decade));
    out += line(x, kTop, x, bottom, "stroke=\"#ddd\"");
    out += text(x, bottom + 18, fmt::format("1e{}", decade));
  }
  const double step = (c.y_max - c.y_min) / 5;
  for (int i = 0; i <= 5; ++i) {
    const double value = c.y_min + i * step;
    out += line(kLeft, f.py(value), right, f.py(value), "stroke=\"#ddd\"");
    out += text(kLeft - 6, f.py(value) + 4, fmt::format("{:g}", value), "end");
  }
  out += text(kWidth / 2, kHeight - 15, c.x_label);
  out += fmt::format("<text transform=\"translate(18,{:.1f}) rotate(-90)\" text-anchor=\"middle\">{}</text>\n",
                     kHeight / 2, c.y_label);
  out += text(kWidth / 2, 22, c.title);
  return out;
}

std::string references(const Frame& f, const LineChart& c) {
  std::string out;
  const char* style = "stroke=\"#c33\" stroke-dasharray=\"6,4\"";
  for (const auto& r : c.references) {
    if (r.horizontal) {
      out += line(kLeft, f.py(r.value), kWidth - kRight, f.py(r.value), style);
      out += text(kWidth - kRight - 4, f.py(r.value) - 5, r.label, "end");
    } else {
      out += line(f.px(r.value), kTop, f.px(r.value), kHeight - kBottom, style);
      out += text(f.px(r.value) + 4, kTop + 14, r.label, "start");
    }
  }
  return out;
}

std::string series(const Frame& f, const LineChart& c, const Series& line, int index) {
  std::string out, points;
  for (size_t i = 0; i < line.x.size(); ++i) {
    const double x = f.px(line.x[i]), y = f.py(std::clamp(line.y[i], c.y_min, c.y_max));
    points += fmt::format("{:.1f},{:.1f} ", x, y);
    out += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3\" fill=\"{}\"/>\n", x, y, line.color);
  }
  out += fmt::format("<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"/>\n", points, line.color);
  const double legend_y = kHeight - kBottom - 12 - 18 * index;
  out += line_segment(kLeft + 12, legend_y - 4, kLeft + 36, legend_y - 4, line.color);
  out += text(kLeft + 42, legend_y, line.name, "start");
  return out;
}

}  // namespace

std::string to_svg(const LineChart& c) {
  double x_low = c.series.front().x.front(), x_high = c.series.front().x.back();
  for (const auto& s : c.series) {
    x_low = std::min(x_low, s.x.front());
    x_high = std::max(x_high, s.x.back());
  }
  Frame f{std::floor(std::log10(x_low)), std::ceil(std::log10(x_high)), c.y_min, c.y_max};
  std::string out = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n",
      kWidth, kHeight);
  out += axes(f, c);
  out += references(f, c);
  for (size_t i = 0; i < c.series.size(); ++i) out += series(f, c, c.series[i], static_cast<int>(i));
  out += "</svg>\n";
  return out;
}

}  // namespace sigma::sim
