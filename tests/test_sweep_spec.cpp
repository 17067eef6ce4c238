// What a sweep varies: --vary values, ranges, the points' order, shards. No simulation here.
#include <doctest/doctest.h>

#include <set>

#include "input/input_error.hpp"
#include "input/sweep_spec.hpp"

using namespace resist;

namespace {

std::string error_of(const std::string& argument) {
  try {
    parse_sweep_axis(argument);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("lists, with JSON values whose commas do not split") {
  const SweepAxis a = parse_sweep_axis("strategy.name=resist,local_sgd");
  CHECK(a.path == "strategy.name");
  CHECK(a.values == std::vector<std::string>{"resist", "local_sgd"});
  CHECK(parse_sweep_axis("model.input=[3,32,32],[1,28,28]").values == std::vector<std::string>{"[3,32,32]", "[1,28,28]"});
  CHECK(parse_sweep_axis(R"(cluster="a,b.json",c.json)").values == std::vector<std::string>{R"("a,b.json")", "c.json"});
  CHECK(parse_sweep_axis("x={\"a\":1,\"b\":2}").values.size() == 1);
}

TEST_CASE("arithmetic and geometric ranges, mixed with values") {
  CHECK(parse_sweep_axis("strategy.workers=2..64x2").values ==
        std::vector<std::string>{"2", "4", "8", "16", "32", "64"});
  CHECK(parse_sweep_axis("strategy.local_iterations=10..50+10").values ==
        std::vector<std::string>{"10", "20", "30", "40", "50"});
  CHECK(parse_sweep_axis("strategy.local_iterations=1,10..30+10,100").values ==
        std::vector<std::string>{"1", "10", "20", "30", "100"});
  CHECK(parse_sweep_axis("simulation.efficiency=0.2..0.5+0.1").values ==
        std::vector<std::string>{"0.2", "0.30000000000000004", "0.4", "0.5"});
  CHECK(parse_sweep_axis("strategy.workers=3..10x2").values == std::vector<std::string>{"3", "6"});
}

TEST_CASE("bad --vary arguments are refused, naming the argument") {
  CHECK(error_of("strategy.workers") == "--vary: \"strategy.workers\": expected path=value,value,... (e.g. strategy.workers=2..64x2)");
  CHECK(error_of("=1,2").find("expected path=value") != std::string::npos);
  CHECK(error_of("a=1,,2").find("an empty value") != std::string::npos);
  CHECK(error_of("a=1,") .find("an empty value") != std::string::npos);
  CHECK(error_of("a=[1,2").find("unbalanced") != std::string::npos);
  CHECK(error_of("a=1]").find("unbalanced ']' at character 2") != std::string::npos);
  CHECK(error_of("a=1,2,1").find("the value 1 twice") != std::string::npos);
  CHECK(error_of("a=1..x").find("expected a range a..b+step or a..bxfactor") != std::string::npos);
  CHECK(error_of("a=8..2+1").find("ends before it starts") != std::string::npos);
  CHECK(error_of("a=1..8+0").find("expected a step above 0") != std::string::npos);
  CHECK(error_of("a=1..8x1").find("expected a factor above 1") != std::string::npos);
  CHECK(error_of("a=0..8x2").find("starts above 0") != std::string::npos);
  CHECK(error_of("a=1..1e9+1").find("more than 10000 values") != std::string::npos);
  CHECK(error_of("a=1..inf+1").find("expected a range") != std::string::npos);
}

TEST_CASE("points: the cross product, the first axis slowest, bounded") {
  const std::vector<SweepAxis> axes{parse_sweep_axis("a=1,2"), parse_sweep_axis("b=x,y,z")};
  REQUIRE(sweep_point_count(axes) == 6);
  CHECK(sweep_point(axes, 0) == std::vector<std::string>{"a=1", "b=x"});
  CHECK(sweep_point(axes, 2) == std::vector<std::string>{"a=1", "b=z"});
  CHECK(sweep_point(axes, 3) == std::vector<std::string>{"a=2", "b=x"});
  CHECK(sweep_point(axes, 5) == std::vector<std::string>{"a=2", "b=z"});
  const std::vector<SweepAxis> big{parse_sweep_axis("a=1..1000+1"), parse_sweep_axis("b=1..1000+1")};
  CHECK_THROWS_WITH_AS(sweep_point_count(big), "--vary: more than 100000 points in the sweep (the product of the values of every --vary)", InputError);
}

TEST_CASE("shards: i/n, 1-based, splitting the points exactly once") {
  const SweepShard s = parse_sweep_shard("2/3");
  CHECK(s.index == 1);
  CHECK(s.count == 3);
  std::multiset<std::uint64_t> all;
  for (std::uint64_t i = 1; i <= 3; ++i)
    for (std::uint64_t p : shard_points(10, parse_sweep_shard(std::to_string(i) + "/3"))) all.insert(p);
  CHECK(all == std::multiset<std::uint64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  CHECK(shard_points(10, s) == std::vector<std::uint64_t>{1, 4, 7});
  for (const char* bad : {"0/3", "4/3", "1/0", "a/3", "1", "1/3/4", "-1/3", ""})
    CHECK_THROWS_WITH_AS(parse_sweep_shard(bad), (std::string("--shard: \"") + bad + "\": expected i/n with 1 <= i <= n (e.g. 2/3)").c_str(), InputError);
}
