// Re-initialisation helpers for model builders that, like torchvision, replace
// the layers' default initialisation (torch.nn.init semantics).
import type { Tensor } from '../tensor.js';
import { normal, uniform } from '../random.js';

/** kaiming_normal_(mode='fan_out', nonlinearity='relu') of a conv weight (O, I/groups, kh, kw). */
export function kaimingNormalFanOut(weight: Tensor<'f32'>): void {
  const [o, , kh, kw] = weight.shape;
  weight.data.set(normal(weight.size, 0, Math.sqrt(2 / (o * kh * kw))));
}

/** normal_(mean, std). */
export function normalInit(t: Tensor<'f32'>, std: number, mean = 0): void {
  t.data.set(normal(t.size, mean, std));
}

export function constantInit(t: Tensor<'f32'>, value: number): void {
  t.data.fill(value);
}

/** kaiming_uniform_(mode='fan_in', nonlinearity='relu') of a conv weight (O, I/groups, kh, kw): U(±sqrt(6 / fan_in)). */
export function kaimingUniformFanIn(weight: Tensor<'f32'>): void {
  const fanIn = weight.size / weight.shape[0];
  const bound = Math.sqrt(6 / fanIn);
  weight.data.set(uniform(weight.size, -bound, bound));
}

/** xavier_uniform_ of a linear or conv weight (O, I, ...): U(±sqrt(6 / (fan_in + fan_out))). */
export function xavierUniform(weight: Tensor<'f32'>): void {
  const receptive = weight.shape.slice(2).reduce((a, b) => a * b, 1);
  const bound = Math.sqrt(6 / ((weight.shape[0] + weight.shape[1]) * receptive));
  weight.data.set(uniform(weight.size, -bound, bound));
}
