// Loading a router configuration: RFC 7951 JSON validated against the YANG modules in
// schemas/ (compiled into the binary, so svrd needs no schema files at run time), then the
// semantic rules XPath cannot express. Every problem is reported with its data path.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "config/model.hpp"

namespace svr::config {

struct Issue {
    std::string path; // data path, e.g. /svr:config/tenants/tenant[name='eng.corp']/name
    std::string message;

    std::string describe() const { return path.empty() ? message : path + ": " + message; }
};

struct CheckReport {
    std::optional<Config> config; // set only when issues is empty
    std::vector<Issue> issues;

    bool valid() const { return config.has_value(); }
};

// Never throws on bad input: libyang's first error, or every semantic problem, is returned.
CheckReport checkConfig(std::string_view json);

// An error only when the file cannot be read; problems in its content are in the report.
Result<CheckReport> checkConfigFile(const std::filesystem::path& file);

// For the daemon: the configuration, or one error whose message lists every issue (one
// "path: message" a line), so the running configuration can stay in place.
Result<Config> loadConfig(std::string_view json);
Result<Config> loadConfigFile(const std::filesystem::path& file);

// The YANG modules compiled into the binary, as (module name, text).
struct EmbeddedSchema {
    std::string_view name;
    std::string_view text;
};
const std::vector<EmbeddedSchema>& embeddedSchemas();

} // namespace svr::config
