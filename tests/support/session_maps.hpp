// A session table of its own for a test that loads no program: the contract's three maps,
// created unpinned (root), mapped through the product's SessionMaps.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/unique_fd.hpp"
#include "fastpath/maps.hpp"

namespace svr::test {

struct TestSessionMaps {
    UniqueFd records, index, info;
    std::unique_ptr<fastpath::SessionMaps> maps;

    // nullptr maps (and error set) when the kernel refuses; records >= 1.
    static TestSessionMaps create(std::uint32_t recordCount, std::string& error);
    fastpath::SessionMaps* get() const { return maps.get(); }
};

} // namespace svr::test
