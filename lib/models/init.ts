// Re-initialisation helpers for model builders that, like torchvision, replace
// the layers' default initialisation (torch.nn.init semantics).
import type { Tensor } from '../tensor.js';
import { normal } from '../random.js';

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
