#include "config/model.hpp"

#include <algorithm>

namespace svr::config {

namespace {

template <typename T>
const T* findByName(const std::vector<T>& items, std::string_view name)
{
    const auto it = std::find_if(items.begin(), items.end(),
                                 [name](const T& item) { return item.name == name; });
    return it == items.end() ? nullptr : &*it;
}

} // namespace

const Interface* Config::findInterface(std::string_view name) const
{
    return findByName(interfaces, name);
}
const Service* Config::findService(std::string_view name) const
{
    return findByName(services, name);
}
const Tenant* Config::findTenant(std::string_view name) const { return findByName(tenants, name); }
const Peer* Config::findPeer(std::string_view name) const { return findByName(peers, name); }

const PeerKey* Config::findPeerKey(std::string_view peer, std::uint32_t generation) const
{
    const auto it = std::find_if(peerKeys.begin(), peerKeys.end(), [&](const PeerKey& key) {
        return key.peer == peer && key.generation == generation;
    });
    return it == peerKeys.end() ? nullptr : &*it;
}

} // namespace svr::config
