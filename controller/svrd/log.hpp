// svrd's log: one line per event on stderr (journald or the test's log file adds time).
#pragma once

#include <fmt/core.h>

#include <cstdio>
#include <utility>

namespace svr::svrd {

template <typename... Args>
void logInfo(fmt::format_string<Args...> format, Args&&... args)
{
    fmt::print(stderr, "svrd: {}\n", fmt::format(format, std::forward<Args>(args)...));
    std::fflush(stderr);
}

} // namespace svr::svrd
