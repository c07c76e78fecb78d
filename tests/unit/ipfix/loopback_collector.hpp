// A UDP socket on 127.0.0.1 with a kernel-chosen port: the IPFIX collector of the unit tests.
#pragma once

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <cstdint>
#include <vector>

#include "common/unique_fd.hpp"

namespace svr::test {

struct LoopbackCollector {
    UniqueFd socket{::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)};
    std::uint16_t port = 0;

    LoopbackCollector()
    {
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        EXPECT_EQ(::bind(socket.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
        socklen_t length = sizeof(address);
        EXPECT_EQ(::getsockname(socket.get(), reinterpret_cast<sockaddr*>(&address), &length), 0);
        port = ntohs(address.sin_port);
    }
    // One message, or nothing after timeoutMs.
    std::vector<std::uint8_t> receive(int timeoutMs = 2000)
    {
        pollfd ready{socket.get(), POLLIN, 0};
        if (::poll(&ready, 1, timeoutMs) != 1) {
            return {};
        }
        std::vector<std::uint8_t> message(65535);
        const ssize_t size = ::recv(socket.get(), message.data(), message.size(), 0);
        message.resize(size > 0 ? static_cast<std::size_t>(size) : 0);
        return message;
    }
};

} // namespace svr::test
