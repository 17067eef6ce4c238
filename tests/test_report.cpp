// `resist report`: the HTML page opens in headless Chromium with every chart drawn and nothing
// logged as an error; a screenshot is kept as a test artifact. Bad input writes no file.
#include <cstdlib>
#include <regex>

#include "tests/cli_helpers.hpp"

using namespace resist::test;

namespace {

struct PageState {
  int expected = -1, rendered = -1;
  std::string problems;
};

/// Opens the page in headless Chromium and reads what its script recorded on <body>.
PageState open_in_chromium(const fs::path& page, const fs::path& screenshot) {
  const std::string common = "timeout 120 chromium --headless --no-sandbox --disable-gpu --hide-scrollbars "
                             "--user-data-dir='" + (scratch() / "chromium-profile").string() +
                             "' --virtual-time-budget=10000 --window-size=1400,3200 ";
  const Result dom = run_command(common + "--dump-dom 'file://" + fs::absolute(page).string() + "'");
  REQUIRE_MESSAGE(dom.code == 0, dom.err);
  const Result shot = run_command(common + "--screenshot='" + screenshot.string() + "' 'file://" +
                                  fs::absolute(page).string() + "'");
  CHECK_MESSAGE(shot.code == 0, shot.err);
  std::smatch m;
  PageState s;
  if (std::regex_search(dom.out, m, std::regex(R"re(data-charts-expected="(\d+)")re"))) s.expected = std::stoi(m[1]);
  if (std::regex_search(dom.out, m, std::regex(R"re(data-charts-rendered="(\d+)")re"))) s.rendered = std::stoi(m[1]);
  if (std::regex_search(dom.out, m, std::regex(R"re(data-problems="([^"]*)")re"))) s.problems = m[1];
  return s;
}

fs::path artifacts() {
  const char* dir = std::getenv("RESIST_ARTIFACT_DIR");
  const fs::path out = dir ? fs::path(dir) : scratch();
  fs::create_directories(out);
  return out;
}

const std::string kSmall = " --set model.arch=preact_resnet18 --set model.width=0.25 --set cluster=cpu-local"
                           " --set strategy.workers=3 --set strategy.min_depth=1 --set strategy.local_iterations=4"
                           " --set training.batch_size=32";

}  // namespace

TEST_CASE("the built-in scenario's report: strategies, per-round split, simulated timeline") {
  fs::remove(scratch() / "report.html");
  const Result r = run_resist("report --rounds 4 --out report.html");
  REQUIRE_MESSAGE(r.code == 0, r.err);
  CHECK(r.out == "report: report.html (3 strategies)\n");
  const std::string html = slurp(scratch() / "report.html");
  // Offline: nothing to fetch (Chart.js's licence comment names its web site, which is fine).
  CHECK_FALSE(std::regex_search(html, std::regex(R"re((src|href)\s*=\s*["']?(https?:|//))re")));
  CHECK(html.find("<script src") == std::string::npos);
  CHECK(html.find("Chart.js v4.6.1") != std::string::npos);
  const PageState s = open_in_chromium(scratch() / "report.html", artifacts() / "report-simulated.png");
  CHECK(s.expected == 5);
  CHECK(s.rendered == s.expected);
  CHECK(s.problems == "[]");
  CHECK(fs::file_size(artifacts() / "report-simulated.png") > 10000);
}

TEST_CASE("with a measured run: timelines side by side and the comparison's errors") {
  // The "measured" run: the same plan simulated with other settings, so the errors are known.
  REQUIRE(run_resist("sim --rounds 6 --trace other.json --set sim.efficiency=0.3" + kSmall).code == 0);
  const Result r = run_resist("report --rounds 4 --measured other.json --out report-measured.html" + kSmall);
  REQUIRE_MESSAGE(r.code == 0, r.err);
  CHECK(r.out == "report: report-measured.html (3 strategies, simulated against measured)\n");
  const std::string html = slurp(scratch() / "report-measured.html");
  CHECK(html.find("\"median_round_error\"") != std::string::npos);
  const PageState s = open_in_chromium(scratch() / "report-measured.html", artifacts() / "report-measured.png");
  CHECK(s.expected == 9);
  CHECK(s.rendered == s.expected);
  CHECK(s.problems == "[]");
}

TEST_CASE("a measured trace of another plan: exit 2 and no report") {
  REQUIRE(run_resist("sim --rounds 2 --trace dp.json --set strategy.name=data_parallel" + kSmall).code == 0);
  fs::remove(scratch() / "never.html");
  const Result r = run_resist("report --measured dp.json --out never.html" + kSmall);
  CHECK(r.code == 2);
  CHECK(r.err.find("dp.json: /otherData/strategy: not a trace of the same plan") != std::string::npos);
  CHECK_FALSE(fs::exists(scratch() / "never.html"));
  CHECK(run_resist("report").code == 2);  // --out is required
}

TEST_CASE("whatever a report embeds is escaped for the page: a hostile or broken file name still renders") {
  REQUIRE(run_resist("sim --rounds 6 --trace base.json --set sim.efficiency=0.3" + kSmall).code == 0);
  // A name that would open an HTML comment and a script inside the page's data, and one that is
  // not UTF-8 (the JSON writer refused it after all the simulation work).
  const std::string hostile = "m<!--<script>.json";
  fs::copy_file(scratch() / "base.json", scratch() / hostile, fs::copy_options::overwrite_existing);
  Result r = run_resist("report --rounds 2 --measured '" + hostile + "' --out hostile.html" + kSmall);
  REQUIRE_MESSAGE(r.code == 0, r.err);
  const std::string html = slurp(scratch() / "hostile.html");
  CHECK(html.find("<!--<script>") == std::string::npos);
  const PageState s = open_in_chromium(scratch() / "hostile.html", artifacts() / "report-hostile-name.png");
  CHECK(s.expected == 9);
  CHECK(s.rendered == s.expected);
  CHECK(s.problems == "[]");
  fs::copy_file(scratch() / "base.json", scratch() / "m\xff.json", fs::copy_options::overwrite_existing);
  r = run_resist("report --rounds 2 --measured $(printf 'm\\377.json') --out broken-name.html" + kSmall);
  CHECK_MESSAGE(r.code == 0, r.err);
  CHECK(fs::exists(scratch() / "broken-name.html"));
}
