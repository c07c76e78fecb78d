// Errors as values at every boundary that can fail for reasons outside the program (kernel,
// files, network, peers). Exceptions are kept for bugs. std::expected is C++23, so this is
// the small C++20 equivalent the whole code base shares.
#pragma once

#include <cerrno>
#include <string>
#include <system_error>
#include <utility>
#include <variant>

namespace svr {

struct Error {
    std::error_code code;
    std::string message; // what failed and with which object; never key material

    static Error fromErrno(int errnum, std::string what)
    {
        return Error{std::error_code(errnum < 0 ? -errnum : errnum, std::generic_category()),
                     std::move(what)};
    }
    static Error invalid(std::string what)
    {
        return Error{std::make_error_code(std::errc::invalid_argument), std::move(what)};
    }
    // "what: strerror"
    std::string describe() const
    {
        if (!code) {
            return message;
        }
        return message + ": " + code.message();
    }
};

template <typename T>
class [[nodiscard]] Result {
public:
    Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}
    Result(Error error) : state_(std::in_place_index<1>, std::move(error)) {}

    bool ok() const { return state_.index() == 0; }
    explicit operator bool() const { return ok(); }

    T& value() & { return std::get<0>(state_); }
    const T& value() const& { return std::get<0>(state_); }
    T&& value() && { return std::get<0>(std::move(state_)); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }

    const Error& error() const { return std::get<1>(state_); }

private:
    std::variant<T, Error> state_;
};

template <>
class [[nodiscard]] Result<void> {
public:
    Result() = default;
    Result(Error error) : error_(std::move(error)), failed_(true) {}

    bool ok() const { return !failed_; }
    explicit operator bool() const { return ok(); }
    const Error& error() const { return error_; }

private:
    Error error_;
    bool failed_ = false;
};

using Status = Result<void>;

} // namespace svr
