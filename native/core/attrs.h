// Node attributes: a small typed map filled from the JS graph description
// ({ axis: 1, transB: true, shape: [2, -1] }) and read by ops with checks that
// name the op and the attribute.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

namespace tg {

using AttrValue = std::variant<int64_t, double, bool, std::string, std::vector<int64_t>, std::vector<double>>;

class Attrs {
 public:
  Attrs() = default;
  explicit Attrs(std::string op) : op_(std::move(op)) {}

  void set(const std::string& name, AttrValue v) { values_[name] = std::move(v); }
  bool has(const std::string& name) const { return values_.count(name) != 0; }
  const std::map<std::string, AttrValue>& values() const { return values_; }
  // The op these attributes belong to, for error messages.
  const std::string& op() const { return op_; }
  void set_op(std::string op) { op_ = std::move(op); }

  // Typed getters: the default is returned when the attribute is absent; a
  // value of the wrong type throws ERR_TG_ARG naming the op and the attribute.
  // Integers are accepted where floats are expected.
  int64_t get_int(const std::string& name, int64_t fallback) const;
  double get_float(const std::string& name, double fallback) const;
  bool get_bool(const std::string& name, bool fallback) const;
  std::string get_string(const std::string& name, const std::string& fallback) const;
  std::vector<int64_t> get_ints(const std::string& name, const std::vector<int64_t>& fallback) const;
  std::vector<double> get_floats(const std::string& name, const std::vector<double>& fallback) const;
  // The same, but the attribute must be present.
  int64_t require_int(const std::string& name) const;
  std::vector<int64_t> require_ints(const std::string& name) const;

 private:
  std::string op_;
  std::map<std::string, AttrValue> values_;
};

}  // namespace tg
