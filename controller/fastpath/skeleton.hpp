// Move-only owner of a bpftool-generated skeleton: destroyed exactly once; open and load
// report errors as values. Instantiated for svr_xdp and svr_tc in fastpath.cpp.
#pragma once

#include <bpf/libbpf.h>

#include <string>
#include <utility>

#include <fmt/format.h>

#include "common/result.hpp"

namespace svr::fastpath {

template <typename Skel>
class Skeleton {
public:
    Skeleton() = default;
    Skeleton(const Skeleton&) = delete;
    Skeleton& operator=(const Skeleton&) = delete;
    Skeleton(Skeleton&& other) noexcept : skel_(std::exchange(other.skel_, nullptr)) {}
    Skeleton& operator=(Skeleton&& other) noexcept
    {
        if (this != &other) {
            reset();
            skel_ = std::exchange(other.skel_, nullptr);
        }
        return *this;
    }
    ~Skeleton() { reset(); }

    static Result<Skeleton> open(const bpf_object_open_opts* opts, const char* what)
    {
        Skeleton owner;
        owner.skel_ = Skel::open(opts);
        if (owner.skel_ == nullptr) {
            return Error::fromErrno(errno, fmt::format("open BPF object {}", what));
        }
        return owner;
    }

    Status load(const char* what)
    {
        if (const int rc = Skel::load(skel_); rc != 0) {
            return Error::fromErrno(-rc, fmt::format("load BPF object {} (verifier or map "
                                                     "reuse failed; libbpf printed why)",
                                                     what));
        }
        return {};
    }

    Skel* operator->() const { return skel_; }
    Skel* get() const { return skel_; }

private:
    void reset()
    {
        if (skel_ != nullptr) {
            Skel::destroy(skel_);
            skel_ = nullptr;
        }
    }
    Skel* skel_ = nullptr;
};

} // namespace svr::fastpath
