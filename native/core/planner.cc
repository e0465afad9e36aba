#include "planner.h"

#include <algorithm>
#include <map>

namespace tg {

size_t value_bytes(const GraphValue& v) {
  return static_cast<size_t>(shape_numel(v.spec.shape)) * dtype_size(v.spec.dtype);
}

MemoryPlan plan_memory(const Graph& g, const std::vector<ValueId>& keep) {
  MemoryPlan plan;
  const size_t nv = g.values.size();

  // Only the nodes the kept values depend on run.
  std::vector<bool> needed_value(nv, false);
  for (ValueId v : keep) needed_value[static_cast<size_t>(v)] = true;
  std::vector<bool> run(g.nodes.size(), false);
  for (size_t i = g.nodes.size(); i-- > 0;) {
    const GraphNode& n = g.nodes[i];
    bool any = false;
    for (ValueId o : n.outputs) any = any || needed_value[static_cast<size_t>(o)];
    if (!any) continue;
    run[i] = true;
    for (ValueId in : n.inputs) needed_value[static_cast<size_t>(in)] = true;
  }
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    if (run[i]) plan.order.push_back(static_cast<int>(i));
  }

  // Last position in `order` at which each value is read.
  const int end = static_cast<int>(plan.order.size());
  std::vector<int> last_use(nv, -1);
  for (int pos = 0; pos < end; ++pos) {
    for (ValueId in : g.nodes[static_cast<size_t>(plan.order[pos])].inputs) last_use[static_cast<size_t>(in)] = pos;
  }
  for (ValueId v : keep) last_use[static_cast<size_t>(v)] = end;

  plan.slot.assign(nv, -1);
  std::multimap<size_t, int> free_slots;  // bytes -> slot
  size_t live = 0;
  for (int pos = 0; pos < end; ++pos) {
    const GraphNode& n = g.nodes[static_cast<size_t>(plan.order[pos])];
    for (ValueId o : n.outputs) {
      const size_t bytes = value_bytes(g.values[static_cast<size_t>(o)]);
      plan.naive_bytes += bytes;
      // Best fit: the smallest free buffer that holds it; else a new one.
      auto it = free_slots.lower_bound(bytes);
      int s;
      if (it != free_slots.end()) {
        s = it->second;
        free_slots.erase(it);
      } else {
        s = static_cast<int>(plan.slot_bytes.size());
        plan.slot_bytes.push_back(bytes);
      }
      plan.slot[static_cast<size_t>(o)] = s;
      live += plan.slot_bytes[static_cast<size_t>(s)];
    }
    plan.peak_bytes = std::max(plan.peak_bytes, live);
    // Release what this node read for the last time, and outputs nobody reads.
    auto release = [&](ValueId v) {
      const int s = plan.slot[static_cast<size_t>(v)];
      if (s < 0 || last_use[static_cast<size_t>(v)] > pos) return;
      free_slots.emplace(plan.slot_bytes[static_cast<size_t>(s)], s);
      live -= plan.slot_bytes[static_cast<size_t>(s)];
      last_use[static_cast<size_t>(v)] = end + 1;  // released once
    };
    for (ValueId in : n.inputs) release(in);
    for (ValueId o : n.outputs) release(o);
  }
  for (size_t b : plan.slot_bytes) plan.planned_bytes += b;
  return plan;
}

}  // namespace tg
