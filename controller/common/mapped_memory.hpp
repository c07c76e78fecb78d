// Owning shared mapping of a file (a BPF_F_MMAPABLE map): unmapped exactly once, movable.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <utility>

namespace svr {

class MappedMemory {
public:
    MappedMemory() = default;
    MappedMemory(void* address, std::size_t length) : address_(address), length_(length) {}
    MappedMemory(const MappedMemory&) = delete;
    MappedMemory& operator=(const MappedMemory&) = delete;
    MappedMemory(MappedMemory&& other) noexcept
        : address_(std::exchange(other.address_, nullptr)),
          length_(std::exchange(other.length_, 0))
    {
    }
    MappedMemory& operator=(MappedMemory&& other) noexcept
    {
        if (this != &other) {
            reset();
            address_ = std::exchange(other.address_, nullptr);
            length_ = std::exchange(other.length_, 0);
        }
        return *this;
    }
    ~MappedMemory() { reset(); }

    void* get() const { return address_; }
    std::size_t size() const { return length_; }

private:
    void reset()
    {
        if (address_ != nullptr) {
            ::munmap(address_, length_);
            address_ = nullptr;
        }
    }

    void* address_ = nullptr;
    std::size_t length_ = 0;
};

} // namespace svr
