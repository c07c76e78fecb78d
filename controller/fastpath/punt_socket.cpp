#include "fastpath/punt_socket.hpp"

#include <fcntl.h>
#include <linux/if_xdp.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include <xdp/xsk.h>

#include <chrono>
#include <cstring>
#include <thread>

#include <fmt/format.h>

#include "fastpath/netdev.hpp"

namespace svr::fastpath {
namespace {

constexpr std::uint32_t kFrameSize = XSK_UMEM__DEFAULT_FRAME_SIZE;
// All handed to the fill ring. 4096 punts buffer ~100 ms of a 40k/s first-packet burst while
// svrd waits for a CPU (the kernel drops punts once the RX ring is full).
constexpr std::uint32_t kRxFrames = 4096;
constexpr std::uint32_t kTxFrames = 512;
constexpr std::uint32_t kFrames = kRxFrames + kTxFrames;

} // namespace

struct PuntSocket::Impl {
    void* area = MAP_FAILED;
    xsk_umem* umem = nullptr;
    xsk_socket* xsk = nullptr;
    xsk_ring_prod fill{};
    xsk_ring_cons completion{};
    xsk_ring_cons rx{};
    xsk_ring_prod tx{};
    std::vector<std::uint64_t> freeTxFrames;
    UniqueFd xsksMap; // our own reference: the map outlives the FastPath that gave it
    std::uint32_t slot = 0;
    std::uint32_t ifindex = 0; // the interface the socket is bound to
    bool inMap = false;
    std::uint32_t unkicked = 0; // frames submitted to the TX ring since the last full kick

    ~Impl()
    {
        if (inMap) {
            (void)Xsks(xsksMap.get()).remove(slot);
        }
        if (xsk != nullptr) {
            xsk_socket__delete(xsk);
        }
        if (umem != nullptr) {
            xsk_umem__delete(umem);
        }
        if (area != MAP_FAILED) {
            ::munmap(area, static_cast<std::size_t>(kFrames) * kFrameSize);
        }
    }

    void reclaimCompletions()
    {
        std::uint32_t index = 0;
        const std::uint32_t done = xsk_ring_cons__peek(&completion, kTxFrames, &index);
        for (std::uint32_t i = 0; i < done; ++i) {
            freeTxFrames.push_back(*xsk_ring_cons__comp_addr(&completion, index + i));
        }
        xsk_ring_cons__release(&completion, done);
    }
};

PuntSocket::PuntSocket(std::unique_ptr<Impl> impl, std::uint32_t slot)
    : impl_(std::move(impl)), slot_(slot)
{
}

PuntSocket::~PuntSocket() = default;

int PuntSocket::fd() const
{
    return xsk_socket__fd(impl_->xsk);
}

Result<std::unique_ptr<PuntSocket>> PuntSocket::open(const MapFds& maps, const std::string& ifname,
                                                     std::uint32_t queue)
{
    auto ifindex = interfaceIndex(ifname);
    if (!ifindex) {
        return ifindex.error();
    }
    auto iface = Ifaces(maps.ifaces).get(*ifindex);
    if (!iface) {
        return iface.error();
    }
    if (!(iface->flags & SVR_IFACE_F_ROUTER)) {
        return Error::invalid(fmt::format("interface {} is not attached to this router", ifname));
    }
    if (queue >= iface->punt_queue_count) {
        return Error::invalid(fmt::format("interface {} has {} punt queue(s); queue {} has no slot",
                                          ifname, iface->punt_queue_count, queue));
    }

    auto impl = std::make_unique<Impl>();
    impl->slot = iface->punt_queue_base + queue;
    impl->ifindex = *ifindex;
    impl->xsksMap.reset(::fcntl(maps.xsks, F_DUPFD_CLOEXEC, 0));
    if (!impl->xsksMap.valid()) {
        return Error::fromErrno(errno, "duplicate the xsks map fd");
    }
    const std::size_t areaSize = static_cast<std::size_t>(kFrames) * kFrameSize;
    impl->area = ::mmap(nullptr, areaSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                        -1, 0);
    if (impl->area == MAP_FAILED) {
        return Error::fromErrno(errno, "allocate the AF_XDP UMEM");
    }
    xsk_umem_config umemConfig{};
    umemConfig.fill_size = kRxFrames;
    umemConfig.comp_size = XSK_RING_CONS__DEFAULT_NUM_DESCS;
    umemConfig.frame_size = kFrameSize;
    umemConfig.frame_headroom = XSK_UMEM__DEFAULT_FRAME_HEADROOM;
    umemConfig.flags = XSK_UMEM__DEFAULT_FLAGS;
    if (const int rc = xsk_umem__create(&impl->umem, impl->area, areaSize, &impl->fill,
                                        &impl->completion, &umemConfig);
        rc != 0) {
        return Error::fromErrno(-rc, "create the AF_XDP UMEM");
    }
    xsk_socket_config config{};
    config.rx_size = kRxFrames;
    config.tx_size = XSK_RING_PROD__DEFAULT_NUM_DESCS;
    config.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD; // svr's program redirects
    config.bind_flags = XDP_COPY; // veth and most drivers here have no zero-copy
    // A socket closed just before on this queue releases it asynchronously (EBUSY meanwhile).
    constexpr int kBusyRetries = 40;
    int rc = 0;
    for (int attempt = 0; attempt < kBusyRetries; ++attempt) {
        rc = xsk_socket__create(&impl->xsk, ifname.c_str(), queue, impl->umem, &impl->rx,
                                &impl->tx, &config);
        if (rc != -EBUSY) {
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    if (rc != 0) {
        return Error::fromErrno(-rc, fmt::format("create AF_XDP socket on {} queue {}", ifname,
                                                 queue));
    }

    std::uint32_t index = 0;
    if (xsk_ring_prod__reserve(&impl->fill, kRxFrames, &index) != kRxFrames) {
        return Error::fromErrno(ENOSPC, "fill the AF_XDP fill ring");
    }
    for (std::uint32_t i = 0; i < kRxFrames; ++i) {
        *xsk_ring_prod__fill_addr(&impl->fill, index + i) =
            static_cast<std::uint64_t>(i) * kFrameSize;
    }
    xsk_ring_prod__submit(&impl->fill, kRxFrames);
    for (std::uint32_t i = kRxFrames; i < kFrames; ++i) {
        impl->freeTxFrames.push_back(static_cast<std::uint64_t>(i) * kFrameSize);
    }

    if (Status entered = Xsks(impl->xsksMap.get()).set(impl->slot, xsk_socket__fd(impl->xsk));
        !entered) {
        return entered.error();
    }
    impl->inMap = true;
    const std::uint32_t slot = impl->slot;
    return std::unique_ptr<PuntSocket>(new PuntSocket(std::move(impl), slot));
}

Result<std::vector<PuntFrame>> PuntSocket::receive(int timeoutMs, std::size_t maxFrames)
{
    std::vector<PuntFrame> frames;
    if (timeoutMs != 0) { // with no wait the ring itself says whether frames are there
        pollfd waitFor{fd(), POLLIN, 0};
        const int ready = ::poll(&waitFor, 1, timeoutMs);
        if (ready < 0) {
            if (errno == EINTR) {
                return frames;
            }
            return Error::fromErrno(errno, "poll the AF_XDP socket");
        }
    }
    std::uint32_t rxIndex = 0;
    const std::uint32_t received =
        xsk_ring_cons__peek(&impl_->rx, static_cast<std::uint32_t>(maxFrames), &rxIndex);
    if (received == 0) {
        return frames;
    }
    frames.reserve(received);
    std::uint32_t fillIndex = 0;
    // Every received frame goes straight back to the fill ring, which has room for them.
    while (xsk_ring_prod__reserve(&impl_->fill, received, &fillIndex) != received) {
    }
    for (std::uint32_t i = 0; i < received; ++i) {
        const xdp_desc* desc = xsk_ring_cons__rx_desc(&impl_->rx, rxIndex + i);
        auto* data = static_cast<std::uint8_t*>(xsk_umem__get_data(impl_->area, desc->addr));
        std::uint8_t* metaBytes = data - sizeof(svr_punt_meta);
        PuntFrame& frame = frames.emplace_back();
        // The kernel copies the XDP metadata right before the frame, inside the headroom.
        std::memcpy(&frame.meta, metaBytes, sizeof(svr_punt_meta));
        // Meta naming another interface is stale or forged, not this frame's.
        frame.hasMeta = frame.meta.magic == SVR_PUNT_MAGIC &&
                        frame.meta.ingress_ifindex == impl_->ifindex;
        if (!frame.hasMeta) {
            frame.meta = svr_punt_meta{};
        }
        frame.data.assign(data, data + desc->len);
        // Chunks are reused: a later frame whose bpf_xdp_adjust_meta failed must not
        // inherit this frame's meta.
        std::memset(metaBytes, 0, sizeof(svr_punt_meta));
        *xsk_ring_prod__fill_addr(&impl_->fill, fillIndex + i) =
            desc->addr - desc->addr % kFrameSize;
    }
    xsk_ring_cons__release(&impl_->rx, received);
    xsk_ring_prod__submit(&impl_->fill, received);
    return frames;
}

bool PuntSocket::rxReady()
{
    return xsk_cons_nb_avail(&impl_->rx, 1) > 0;
}

Status PuntSocket::transmit(std::span<const std::uint8_t> frame)
{
    if (Status queued = queue(frame); !queued) {
        return queued;
    }
    return flush();
}

Status PuntSocket::queue(std::span<const std::uint8_t> frame)
{
    if (frame.empty() || frame.size() > kFrameSize - XDP_PACKET_HEADROOM) {
        return Error::invalid(fmt::format("frame of {} bytes cannot be sent", frame.size()));
    }
    impl_->reclaimCompletions();
    std::uint32_t index = 0;
    if (impl_->freeTxFrames.empty() || xsk_ring_prod__reserve(&impl_->tx, 1, &index) != 1) {
        // Room comes back once the queued frames are sent (copy mode completes in the kick).
        if (Status flushed = flush(); !flushed) {
            return flushed;
        }
        impl_->reclaimCompletions();
        if (impl_->freeTxFrames.empty()) {
            return Error::fromErrno(ENOBUFS, "AF_XDP transmit: every TX frame is in flight");
        }
        if (xsk_ring_prod__reserve(&impl_->tx, 1, &index) != 1) {
            return Error::fromErrno(ENOBUFS, "AF_XDP transmit: TX ring full");
        }
    }
    const std::uint64_t address = impl_->freeTxFrames.back();
    impl_->freeTxFrames.pop_back();
    std::memcpy(xsk_umem__get_data(impl_->area, address), frame.data(), frame.size());
    xdp_desc* desc = xsk_ring_prod__tx_desc(&impl_->tx, index);
    desc->addr = address;
    desc->len = static_cast<std::uint32_t>(frame.size());
    xsk_ring_prod__submit(&impl_->tx, 1);
    if (++impl_->unkicked >= kTxKickBatch) {
        return flush();
    }
    return {};
}

Status PuntSocket::flush()
{
    // Copy mode sends a bounded budget of frames per kick (32 by default) and answers
    // EAGAIN while more wait; every queued frame fits in this many kicks.
    constexpr int kMaxKicks = static_cast<int>(kTxFrames / 32) + 2;
    for (int kick = 0; impl_->unkicked > 0 && kick < kMaxKicks; ++kick) {
        if (::sendto(fd(), nullptr, 0, MSG_DONTWAIT, nullptr, 0) == 0) {
            impl_->unkicked = 0;
            break;
        }
        if (errno == EAGAIN) {
            impl_->reclaimCompletions(); // a full completion ring also answers EAGAIN
            continue;
        }
        if (errno == EBUSY || errno == ENOBUFS) {
            break; // the device pushes back: the frames stay queued for the next kick
        }
        return Error::fromErrno(errno, "AF_XDP transmit kick");
    }
    return {};
}

bool PuntSocket::txPending() const
{
    return impl_->unkicked > 0;
}

} // namespace svr::fastpath
