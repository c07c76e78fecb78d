// Rules of a router configuration that YANG/XPath cannot express (address arithmetic,
// overlaps, address families). Each issue names the data path libyang would use.
#pragma once

#include <vector>

#include "config/loader.hpp"
#include "config/model.hpp"

namespace svr::config {

std::vector<Issue> checkSemantics(const Config& config);

} // namespace svr::config
