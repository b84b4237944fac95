// Errors as values: Result<T> carries a T or an Error (errno plus a message
// that gains context at every layer it passes through).
#pragma once

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>
#include <variant>

#include <fmt/format.h>

namespace berth {

struct Error {
  int code = 0;  // errno, or 0 when the failure is not a system error
  std::string message;

  // "context: message" — used as each layer adds what it was doing.
  Error wrap(std::string_view context) const& {
    return Error{code, fmt::format("{}: {}", context, message)};
  }
  Error wrap(std::string_view context) && {
    return Error{code, fmt::format("{}: {}", context, message)};
  }
};

template <typename... Args>
Error make_error(fmt::format_string<Args...> f, Args&&... args) {
  return Error{0, fmt::format(f, std::forward<Args>(args)...)};
}

// The message ends with strerror(errno); errno is read before formatting.
template <typename... Args>
Error errno_error(fmt::format_string<Args...> f, Args&&... args) {
  int e = errno;
  return Error{
      e, fmt::format("{}: {}", fmt::format(f, std::forward<Args>(args)...), std::strerror(e))};
}

template <typename... Args>
Error code_error(int code, fmt::format_string<Args...> f, Args&&... args) {
  return Error{code, fmt::format("{}: {}", fmt::format(f, std::forward<Args>(args)...),
                                 std::strerror(code))};
}

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}
  Result(Error e) : v_(std::move(e)) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  const T& value() const& { return std::get<0>(v_); }
  T& operator*() & { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Error& error() const& { return std::get<1>(v_); }
  Error&& error() && { return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error e) : err_(std::move(e)), ok_(false) {}
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const& { return err_; }
  Error&& error() && { return std::move(err_); }

 private:
  Error err_;
  bool ok_ = true;
};

inline Result<void> ok() {
  return {};
}

}  // namespace berth

// TRY(expr): evaluate a Result; on error return it from the enclosing function,
// otherwise yield the value (GNU statement expression).
#define BERTH_CONCAT_(a, b) a##b
#define BERTH_CONCAT(a, b) BERTH_CONCAT_(a, b)
#define TRY(expr)                                                   \
  ({                                                                \
    auto&& berth_try_r_ = (expr);                                   \
    if (!berth_try_r_.ok()) return std::move(berth_try_r_).error(); \
    berth::detail::take(std::move(berth_try_r_));                   \
  })
// TRY_CTX(expr, "context {}", x): as TRY, but wraps the error with context.
#define TRY_CTX(expr, ...)                                                                         \
  ({                                                                                               \
    auto&& berth_try_r_ = (expr);                                                                  \
    if (!berth_try_r_.ok()) return std::move(berth_try_r_).error().wrap(fmt::format(__VA_ARGS__)); \
    berth::detail::take(std::move(berth_try_r_));                                                  \
  })

namespace berth::detail {
template <typename T>
T take(Result<T>&& r) {
  return std::move(r).value();
}
inline void take(Result<void>&&) {}
}  // namespace berth::detail
