// Reading the shipped example configurations from tests.
#pragma once

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace svr::config::test {

inline std::string exampleText(const std::string& name)
{
    std::ifstream stream(std::string(SVR_EXAMPLES_DIR) + "/" + name);
    if (!stream) {
        throw std::runtime_error("missing example " + name); // a broken test setup
    }
    std::ostringstream text;
    text << stream.rdbuf();
    return text.str();
}

} // namespace svr::config::test
