#include "attrs.h"

#include "error.h"

namespace tg {

namespace {

[[noreturn]] void wrong_type(const Attrs& a, const std::string& name, const char* expected) {
  fail("ERR_TG_ARG", "op '", a.op(), "': attribute '", name, "' must be ", expected);
}

}  // namespace

int64_t Attrs::get_int(const std::string& name, int64_t fallback) const {
  auto it = values_.find(name);
  if (it == values_.end()) return fallback;
  if (auto v = std::get_if<int64_t>(&it->second)) return *v;
  if (auto b = std::get_if<bool>(&it->second)) return *b ? 1 : 0;
  wrong_type(*this, name, "an integer");
}

double Attrs::get_float(const std::string& name, double fallback) const {
  auto it = values_.find(name);
  if (it == values_.end()) return fallback;
  if (auto v = std::get_if<double>(&it->second)) return *v;
  if (auto i = std::get_if<int64_t>(&it->second)) return static_cast<double>(*i);
  wrong_type(*this, name, "a number");
}

bool Attrs::get_bool(const std::string& name, bool fallback) const {
  auto it = values_.find(name);
  if (it == values_.end()) return fallback;
  if (auto v = std::get_if<bool>(&it->second)) return *v;
  wrong_type(*this, name, "a boolean");
}

std::string Attrs::get_string(const std::string& name, const std::string& fallback) const {
  auto it = values_.find(name);
  if (it == values_.end()) return fallback;
  if (auto v = std::get_if<std::string>(&it->second)) return *v;
  wrong_type(*this, name, "a string");
}

std::vector<int64_t> Attrs::get_ints(const std::string& name, const std::vector<int64_t>& fallback) const {
  auto it = values_.find(name);
  if (it == values_.end()) return fallback;
  if (auto v = std::get_if<std::vector<int64_t>>(&it->second)) return *v;
  if (auto i = std::get_if<int64_t>(&it->second)) return {*i};
  wrong_type(*this, name, "an array of integers");
}

std::vector<double> Attrs::get_floats(const std::string& name, const std::vector<double>& fallback) const {
  auto it = values_.find(name);
  if (it == values_.end()) return fallback;
  if (auto v = std::get_if<std::vector<double>>(&it->second)) return *v;
  if (auto v = std::get_if<std::vector<int64_t>>(&it->second)) return std::vector<double>(v->begin(), v->end());
  wrong_type(*this, name, "an array of numbers");
}

int64_t Attrs::require_int(const std::string& name) const {
  TG_CHECK(has(name), "ERR_TG_ARG", "op '", op_, "': attribute '", name, "' is required");
  return get_int(name, 0);
}

std::vector<int64_t> Attrs::require_ints(const std::string& name) const {
  TG_CHECK(has(name), "ERR_TG_ARG", "op '", op_, "': attribute '", name, "' is required");
  return get_ints(name, {});
}

}  // namespace tg
