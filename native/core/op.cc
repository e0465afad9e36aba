#include "op.h"

#include <algorithm>
#include <map>
#include <mutex>

#include "error.h"

namespace tg {

namespace {

std::map<std::string, OpDef>& registry() {
  static std::map<std::string, OpDef>* r = new std::map<std::string, OpDef>;  // outlives static destructors
  return *r;
}

}  // namespace

void register_op(const OpDef& def) {
  auto& r = registry();
  TG_CHECK(r.count(def.name) == 0, "ERR_TG_INTERNAL", "op '", def.name, "' is registered twice");
  r.emplace(def.name, def);
}

const OpDef* find_op_or_null(const std::string& name) {
  auto& r = registry();
  auto it = r.find(name);
  return it == r.end() ? nullptr : &it->second;
}

const OpDef& find_op(const std::string& name) {
  if (const OpDef* def = find_op_or_null(name)) return *def;
  // Suggest names sharing a prefix or contained in one another.
  std::string close;
  for (const auto& kv : registry()) {
    const std::string& k = kv.first;
    if (k.find(name) != std::string::npos || name.find(k) != std::string::npos ||
        (name.size() >= 3 && k.compare(0, 3, name, 0, 3) == 0)) {
      close += (close.empty() ? "" : ", ") + k;
    }
  }
  fail("ERR_TG_ARG", "unknown op '", name, "'", close.empty() ? "" : " (did you mean: " + close + "?)");
}

std::vector<const OpDef*> all_ops() {
  std::vector<const OpDef*> out;
  for (const auto& kv : registry()) out.push_back(&kv.second);
  return out;
}

}  // namespace tg
