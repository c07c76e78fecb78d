// Loading and attaching the rig's XDP programs. Each attach outlives the tool (a netlink
// XDP attach holds its program), so the run scripts attach once per configuration and the
// namespaces' teardown removes everything.
#pragma once

#include <cstdint>
#include <string>

#include "common/result.hpp"

namespace svr::bench {

// The ifindex of `name` in the calling process's network namespace.
Result<std::uint32_t> interfaceIndex(const std::string& name);

// bpffs paths of the sink's maps under the directory it was attached with.
std::string sinkCountersPin(const std::string& pinDir);
std::string sinkLatencyPin(const std::string& pinDir);

// Attaches the counting, dropping sink to `interface` and pins its per-CPU counter and
// latency maps under `pinDir` (created). Frames still addressed to `originalDst` (host
// order) are counted apart from DNATed ones. With `reflect`, IPv4 UDP frames are sent
// back with addresses and ports swapped instead of dropped (an echo at any rate).
Status attachSink(const std::string& interface, const std::string& pinDir,
                  std::uint32_t originalDst, bool reflect = false);

// Attaches the XDP_PASS program: a veth needs one on its receiving side to accept frames
// that were redirected or XDP_TXed into it.
Status attachPass(const std::string& interface);

// Attaches the bare DEVMAP redirect from `ingress` to `egress`. Must run inside the
// router's namespace: DEVMAP entries resolve ifindexes in the writer's namespace.
Status attachRedirect(const std::string& ingress, const std::string& egress);

// Removes whatever native XDP program `interface` has.
Status detach(const std::string& interface);

} // namespace svr::bench
