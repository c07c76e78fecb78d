#include "session_maps.hpp"

#include <bpf/bpf.h>

#include <cstring>

namespace svr::test {

TestSessionMaps TestSessionMaps::create(std::uint32_t recordCount, std::string& error)
{
    TestSessionMaps made;
    LIBBPF_OPTS(bpf_map_create_opts, mappable, .map_flags = BPF_F_MMAPABLE);
    made.records = UniqueFd(bpf_map_create(BPF_MAP_TYPE_ARRAY, "sessions", sizeof(std::uint32_t),
                                           sizeof(svr_session_record), recordCount, &mappable));
    made.index = UniqueFd(bpf_map_create(BPF_MAP_TYPE_ARRAY, "session_index",
                                         sizeof(std::uint32_t), sizeof(svr_session_bucket),
                                         fastpath::sessionBucketsFor(recordCount), &mappable));
    made.info = UniqueFd(bpf_map_create(BPF_MAP_TYPE_ARRAY, "session_info", sizeof(std::uint32_t),
                                        sizeof(svr_session_info), 1, &mappable));
    if (!made.records.valid() || !made.index.valid() || !made.info.valid()) {
        error = std::string("bpf_map_create: ") + std::strerror(errno) + " (needs root)";
        return made;
    }
    auto opened = fastpath::SessionMaps::open(made.records.get(), made.index.get(), made.info.get());
    if (!opened) {
        error = opened.error().message;
        return made;
    }
    made.maps = std::move(*opened);
    return made;
}

} // namespace svr::test
