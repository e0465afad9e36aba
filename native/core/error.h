// Errors raised by native code. Each carries a stable code (ERR_TG_*) that the
// binding copies onto the JS Error, so callers can branch on it without parsing text.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace tg {

class Error : public std::runtime_error {
 public:
  Error(std::string code, const std::string& message)
      : std::runtime_error(message), code_(std::move(code)) {}
  const std::string& code() const { return code_; }

 private:
  std::string code_;
};

namespace detail {
inline void append(std::ostringstream&) {}
template <typename T, typename... Rest>
void append(std::ostringstream& os, const T& v, const Rest&... rest) {
  os << v;
  append(os, rest...);
}
}  // namespace detail

// fail("ERR_TG_SHAPE", "gemm: a has ", n, " dims") builds the message from parts.
template <typename... Parts>
[[noreturn]] void fail(const char* code, const Parts&... parts) {
  std::ostringstream os;
  detail::append(os, parts...);
  throw Error(code, os.str());
}

}  // namespace tg

#define TG_CHECK(cond, code, ...)          \
  do {                                     \
    if (!(cond)) ::tg::fail(code, __VA_ARGS__); \
  } while (0)
