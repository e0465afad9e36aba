// `npm run ops:coverage`: the registered ops that have no case in
// test/cases/*.mjs, and the cases that have no gradient check. Exits 1 when
// an op has no case at all.
import { native } from '../dist/native.js';
import { loadCaseTables } from '../test/op-harness.mjs';

const tables = await loadCaseTables();
const cases = tables.flatMap((t) => t.cases);
const covered = new Set(cases.map((c) => c.op));
const gradChecked = new Set(cases.filter((c) => c.grad).map((c) => c.op));
const ops = native().listOps();

const missing = ops.filter((o) => !covered.has(o.name)).map((o) => o.name);
const noGrad = ops.filter((o) => o.differentiable && !gradChecked.has(o.name)).map((o) => o.name);

console.log(`${ops.length} ops registered, ${ops.length - missing.length} with a case`);
console.log(missing.length ? `ops without a case: ${missing.join(', ')}` : 'every op has a case');
console.log(noGrad.length ? `differentiable ops without a gradient check: ${noGrad.join(', ')}` : 'every differentiable op has a gradient check');
process.exit(missing.length ? 1 : 0);
