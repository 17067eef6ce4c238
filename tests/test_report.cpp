// `resist report`: the HTML page opens in headless Chromium with every chart drawn and nothing
// logged as an error; a screenshot is kept as a test artifact. Bad input writes no file.
#include <cstdlib>
#include <regex>

#include "reports/sweep_report.hpp"
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
  CHECK(html.find("\"compute\":\"V100 roofline, 15.7 TFLOP/s and 900 GB/s memory, x efficiency 0.4\"") != std::string::npos);
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

TEST_CASE("the Pareto front: points no other beats on both, ascending by the first") {
  using resist::pareto_front;
  CHECK(pareto_front({1, 2, 3, 4}, {4, 3, 2, 1}) == std::vector<std::size_t>{0, 1, 2, 3});
  CHECK(pareto_front({1, 2, 3}, {1, 2, 3}) == std::vector<std::size_t>{0});
  CHECK(pareto_front({3, 1, 2, 2, 5}, {1, 5, 2, 4, 0.5}) == std::vector<std::size_t>{1, 2, 0, 4});
  CHECK(pareto_front({1, 1}, {2, 2}) == std::vector<std::size_t>{0});  // a tie is not repeated
  CHECK(pareto_front({}, {}).empty());
}

TEST_CASE("resist sweep --report: cost against time with the Pareto front, speedups, communication share") {
  fs::remove(scratch() / "sweep.html");
  const Result r = run_resist("sweep --set training.epochs=null --set training.rounds=30 --rounds 2 "
                              "--vary strategy.name=resist,local_sgd --vary strategy.workers=2,4,8 "
                              "--vary cluster=v100x4-nvlink,h100x8-node --out sweep --report sweep.html");
  REQUIRE_MESSAGE(r.code == 0, r.err);
  CHECK(r.out == "sweep: 12 points, 2 with errors: sweep/sweep.csv, sweep/sweep.json\n");  // 8 on 4 V100
  const nlohmann::json data = resist::sweep_report_data(nlohmann::json::parse(slurp(scratch() / "sweep/sweep.json")));
  CHECK(data["against"] == "cost");
  CHECK(data["currency"] == "USD");
  CHECK(data["rows"].size() == 10);
  CHECK(data["errors"].size() == 2);
  REQUIRE(data["front"].size() >= 1);
  for (const auto& i : data["front"]) {  // nothing beats a front point on both time and cost
    const auto& f = data["rows"][i.get<std::size_t>()];
    for (const auto& o : data["rows"])
      CHECK_FALSE((o["cost"].get<double>() < f["cost"].get<double>() &&
                   o["total_time_s"].get<double>() < f["total_time_s"].get<double>()));
  }
  const std::string html = slurp(scratch() / "sweep.html");
  CHECK(html.find("<script src") == std::string::npos);
  const PageState s = open_in_chromium(scratch() / "sweep.html", artifacts() / "sweep.png");
  CHECK(s.expected == 4);  // front, speedup, communication against workers and against cluster
  CHECK(s.rendered == s.expected);
  CHECK(s.problems == "[]");
}
