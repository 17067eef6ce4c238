// What the HTML report inlines, compiled in at build time (tools/embed_report_assets.py).
#pragma once

#include <string_view>

namespace resist {

std::string_view chartjs_version();
/// Chart.js's UMD build, as installed from the npm registry.
std::string_view chartjs_source();
/// reports/report.html: the page, with /*RESIST_CHARTJS*/ and /*RESIST_DATA*/ to fill in.
std::string_view report_template();
/// reports/sweep.html: the sweep's page, with the same two markers.
std::string_view sweep_template();

}  // namespace resist
