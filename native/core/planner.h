// Memory planning for one execution order: each intermediate value gets a
// slot in a small set of reusable buffers, chosen by liveness (a value's
// buffer returns to the pool after its last reader runs). Values that must
// survive the run — fetched outputs, parameter gradients for the optimizer —
// stay live to the end. Graph inputs and parameters live in memory owned
// elsewhere and take no slot.
#pragma once
#include <cstddef>
#include <vector>

#include "graph.h"

namespace tg {

struct MemoryPlan {
  std::vector<int> order;            // nodes to run, in order (only those needed for the fetches)
  std::vector<int> slot;             // per value: buffer index, or -1 (not planned: input/param/unused)
  std::vector<size_t> slot_bytes;    // per buffer: its size
  size_t planned_bytes = 0;          // sum of slot_bytes: what the arena allocates
  size_t peak_bytes = 0;             // most bytes live at once while running `order`
  size_t naive_bytes = 0;            // bytes without reuse (every value its own buffer)
};

// Plans the nodes needed to compute `keep` (which also stay live to the end).
MemoryPlan plan_memory(const Graph& g, const std::vector<ValueId>& keep);

size_t value_bytes(const GraphValue& v);

}  // namespace tg
