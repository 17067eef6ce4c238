// Peak memory of this process, for benchmarks and simulation reports.
#pragma once

namespace resist {

/// Peak resident memory (VmHWM) in MiB, or -1 where /proc is not available.
double peak_rss_mib();

}  // namespace resist
