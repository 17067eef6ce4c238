// The fuzz targets, one per loader: each runs one input, says whether it was accepted, and may only refuse it with InputError
// (fuzz_target.hpp). libFuzzer runs them in the fuzzing build (tools/fuzz.sh); test_fuzz_corpus
// replays the kept corpus through them in every test run.
#pragma once

#include <string_view>

namespace resist::fuzz {

bool scenario(std::string_view text);
bool cluster(std::string_view text);
bool plan(std::string_view text);
bool cost_table(std::string_view text);
bool trace_compare(std::string_view text);    ///< needs the simulator
bool trace_calibrate(std::string_view text);  ///< needs the simulator
bool sweep_merge(std::string_view text);      ///< needs the simulator (the sweep library)

}  // namespace resist::fuzz
