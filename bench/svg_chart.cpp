#include "svg_chart.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>

namespace coras::bench_tool::svg {

namespace {

constexpr double panel_w = 520, panel_h = 340;
constexpr double left = 72, right = 150, top = 36, bottom = 48;  // plot margins in a panel
constexpr double gap = 16, title_h = 40, legend_row_h = 20, footnote_h = 16;

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

// Tick labels: 0.01 .. 100000 without exponents, two significant digits.
std::string tick_text(double v) {
  char buf[32];
  if (v >= 1)
    std::snprintf(buf, sizeof buf, "%.0f", v);
  else
    std::snprintf(buf, sizeof buf, "%.2g", v);
  return buf;
}

struct axis {
  double lo = 1, hi = 2;  // data range, as values (not logs)
  bool log2 = false;      // else log10
  double map(double v, double from, double to) const {
    const double a = std::log(lo), b = std::log(hi);
    return from + (std::log(v) - a) / (b - a) * (to - from);
  }
};

void draw_panel(std::ostringstream& o, const panel& p, double ox, double oy) {
  const double x0 = ox + left, x1 = ox + panel_w - right;
  const double y0 = oy + panel_h - bottom, y1 = oy + top;  // y0: bottom of the plot
  axis xa, ya;
  xa.log2 = true;
  double xmin = std::numeric_limits<double>::max(), xmax = 0;
  double ymin = std::numeric_limits<double>::max(), ymax = 0;
  for (const auto& s : p.lines)
    for (auto [x, y] : s.points) {
      if (x <= 0 || y <= 0) continue;
      xmin = std::min(xmin, x), xmax = std::max(xmax, x);
      ymin = std::min(ymin, y), ymax = std::max(ymax, y);
    }
  for (const auto& r : p.references)
    if (r.value > 0) ymin = std::min(ymin, r.value), ymax = std::max(ymax, r.value);
  if (xmax == 0) xmin = 1, xmax = 2;
  if (ymax == 0) ymin = 1, ymax = 10;
  xa.lo = std::exp2(std::floor(std::log2(xmin)));
  xa.hi = std::exp2(std::ceil(std::log2(xmax)));
  if (xa.hi <= xa.lo) xa.hi = xa.lo * 2;
  ya.lo = std::pow(10.0, std::floor(std::log10(ymin)));
  ya.hi = std::pow(10.0, std::ceil(std::log10(ymax)));
  if (ya.hi <= ya.lo) ya.hi = ya.lo * 10;

  o << "<g>\n<text x=\"" << num(ox + panel_w / 2) << "\" y=\"" << num(oy + 20)
    << "\" text-anchor=\"middle\" font-weight=\"bold\">" << escape(p.title) << "</text>\n";
  o << "<rect x=\"" << num(x0) << "\" y=\"" << num(y1) << "\" width=\"" << num(x1 - x0)
    << "\" height=\"" << num(y0 - y1) << "\" fill=\"none\" stroke=\"#444\"/>\n";
  // x ticks at every power of two
  for (double v = xa.lo; v <= xa.hi * 1.0001; v *= 2) {
    const double x = xa.map(v, x0, x1);
    o << "<line x1=\"" << num(x) << "\" y1=\"" << num(y0) << "\" x2=\"" << num(x) << "\" y2=\""
      << num(y1) << "\" stroke=\"#ddd\"/>\n";
    o << "<text x=\"" << num(x) << "\" y=\"" << num(y0 + 16)
      << "\" text-anchor=\"middle\" font-size=\"11\">" << tick_text(v) << "</text>\n";
  }
  // y ticks at 1, 2, 5 times each power of ten
  for (double decade = ya.lo; decade < ya.hi * 1.0001; decade *= 10)
    for (double m : {1.0, 2.0, 5.0}) {
      const double v = decade * m;
      if (v > ya.hi * 1.0001) break;
      const double y = ya.map(v, y0, y1);
      o << "<line x1=\"" << num(x0) << "\" y1=\"" << num(y) << "\" x2=\"" << num(x1) << "\" y2=\""
        << num(y) << "\" stroke=\"" << (m == 1.0 ? "#ccc" : "#eee") << "\"/>\n";
      o << "<text x=\"" << num(x0 - 6) << "\" y=\"" << num(y + 4)
        << "\" text-anchor=\"end\" font-size=\"11\">" << tick_text(v) << "</text>\n";
    }
  o << "<text x=\"" << num((x0 + x1) / 2) << "\" y=\"" << num(y0 + 36)
    << "\" text-anchor=\"middle\" font-size=\"12\">" << escape(p.x_label) << "</text>\n";
  o << "<text transform=\"translate(" << num(ox + 18) << "," << num((y0 + y1) / 2)
    << ") rotate(-90)\" text-anchor=\"middle\" font-size=\"12\">" << escape(p.y_label)
    << "</text>\n";
  for (const auto& r : p.references) {
    if (r.value <= 0) continue;
    const double y = ya.map(r.value, y0, y1);
    o << "<line x1=\"" << num(x0) << "\" y1=\"" << num(y) << "\" x2=\"" << num(x1) << "\" y2=\""
      << num(y) << "\" stroke=\"#c00\" stroke-dasharray=\"6,4\"/>\n";
    o << "<text x=\"" << num(x1 + 4) << "\" y=\"" << num(y + 4)
      << "\" font-size=\"11\" fill=\"#c00\">" << escape(r.label) << "</text>\n";
  }
  for (const auto& s : p.lines) {
    std::ostringstream pts;
    std::size_t n = 0;
    for (auto [x, y] : s.points) {
      if (x <= 0 || y <= 0) continue;
      pts << (n++ ? " " : "") << num(xa.map(x, x0, x1)) << "," << num(ya.map(y, y0, y1));
    }
    if (n == 0) continue;
    o << "<polyline fill=\"none\" stroke=\"" << escape(s.color) << "\" stroke-width=\"2\" points=\""
      << pts.str() << "\"><title>" << escape(s.name) << "</title></polyline>\n";
    for (auto [x, y] : s.points) {
      if (x <= 0 || y <= 0) continue;
      o << "<circle cx=\"" << num(xa.map(x, x0, x1)) << "\" cy=\"" << num(ya.map(y, y0, y1))
        << "\" r=\"3\" fill=\"" << escape(s.color) << "\"/>\n";
    }
  }
  o << "</g>\n";
}

}  // namespace

std::string escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string render(std::string_view title, const std::vector<panel>& panels, std::size_t columns,
                   const std::vector<std::string>& footnotes) {
  columns = std::max<std::size_t>(1, std::min(columns, std::max<std::size_t>(panels.size(), 1)));
  const std::size_t rows = (panels.size() + columns - 1) / columns;
  // The legend: every series name once, in first-seen order.
  std::vector<std::pair<std::string, std::string>> legend;
  for (const auto& p : panels)
    for (const auto& s : p.lines)
      if (std::none_of(legend.begin(), legend.end(), [&](auto& e) { return e.first == s.name; }))
        legend.emplace_back(s.name, s.color);
  constexpr std::size_t legend_columns = 5;
  const std::size_t legend_rows = (legend.size() + legend_columns - 1) / legend_columns;
  const double width = gap + static_cast<double>(columns) * (panel_w + gap);
  const double panels_h = static_cast<double>(rows) * (panel_h + gap);
  const double height = title_h + panels_h + static_cast<double>(legend_rows) * legend_row_h +
                        static_cast<double>(footnotes.size()) * footnote_h + gap * 2;
  std::ostringstream o;
  o << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << num(width) << "\" height=\""
    << num(height) << "\" viewBox=\"0 0 " << num(width) << " " << num(height)
    << "\" font-family=\"sans-serif\" font-size=\"12\">\n"
    << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    << "<text x=\"" << num(width / 2) << "\" y=\"26\" text-anchor=\"middle\" font-size=\"16\">"
    << escape(title) << "</text>\n";
  for (std::size_t i = 0; i < panels.size(); ++i)
    draw_panel(o, panels[i], gap + static_cast<double>(i % columns) * (panel_w + gap),
               title_h + static_cast<double>(i / columns) * (panel_h + gap));
  double y = title_h + panels_h + 10;
  for (std::size_t i = 0; i < legend.size(); ++i) {
    const double x = gap + static_cast<double>(i % legend_columns) * 150;
    const double ly = y + static_cast<double>(i / legend_columns) * legend_row_h;
    o << "<line x1=\"" << num(x) << "\" y1=\"" << num(ly) << "\" x2=\"" << num(x + 24) << "\" y2=\""
      << num(ly) << "\" stroke=\"" << escape(legend[i].second)
      << "\" stroke-width=\"3\"/>\n<text x=\"" << num(x + 30) << "\" y=\"" << num(ly + 4) << "\">"
      << escape(legend[i].first) << "</text>\n";
  }
  y += static_cast<double>(legend_rows) * legend_row_h + 6;
  for (const auto& f : footnotes) {
    o << "<text x=\"" << num(gap) << "\" y=\"" << num(y) << "\" font-size=\"11\" fill=\"#333\">"
      << escape(f) << "</text>\n";
    y += footnote_h;
  }
  o << "</svg>\n";
  return o.str();
}

}  // namespace coras::bench_tool::svg
