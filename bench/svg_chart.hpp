// A small SVG line-chart writer for `coras-bench sweep`: panels in a grid,
// each with a log2 x axis and a log10 y axis, lines with markers, labelled
// horizontal reference lines, and one legend. No dependency beyond the
// standard library, so the chart is drawn wherever the benchmark runs.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace coras::bench_tool::svg {

// One line: (x, y) points in x order; points with x or y <= 0 are left out
// (both axes are logarithmic).
struct series {
  std::string name;   // in the legend
  std::string color;  // any SVG colour, e.g. "#1f77b4"
  std::vector<std::pair<double, double>> points;
};

// A horizontal line across a panel at `value`, labelled at its right end.
struct reference_line {
  std::string label;
  double value = 0;
};

struct panel {
  std::string title;
  std::string x_label;
  std::string y_label;
  std::vector<series> lines;
  std::vector<reference_line> references;
};

// The whole document: `title` on top, `panels` in rows of `columns`, then a
// legend of every distinct series name (with its colour), then `footnotes`,
// one per line. Text is escaped.
std::string render(std::string_view title, const std::vector<panel>& panels, std::size_t columns,
                   const std::vector<std::string>& footnotes);

// `text` with &, <, >, " and ' as XML entities.
std::string escape(std::string_view text);

}  // namespace coras::bench_tool::svg
