// PyTorch's default initialisations, drawn from libtorch's seeded generator.
import { noGrad } from '../autograd.js';
import { normal_, uniform_ } from '../creation.js';
import type { Tensor } from '../tensor.js';

/** fan_in and fan_out of a weight shaped (out, in, *kernel). */
export function fans(w: Tensor): { fanIn: number; fanOut: number } {
  const s = w.shape;
  if (s.length < 2) throw new Error('fans: need at least 2 dims');
  const receptive = s.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: s[1] * receptive, fanOut: s[0] * receptive };
}

/** kaiming_uniform_(w, a): U(-b, b) with b = gain·sqrt(3 / fan_in), gain = sqrt(2 / (1 + a²)). */
export function kaimingUniform_(w: Tensor, a = 0): Tensor {
  const { fanIn } = fans(w);
  const bound = Math.sqrt(2 / (1 + a * a)) * Math.sqrt(3 / fanIn);
  return noGrad(() => uniform_(w, -bound, bound));
}

export function uniformInit_(t: Tensor, low: number, high: number): Tensor {
  return noGrad(() => uniform_(t, low, high));
}

export function normalInit_(t: Tensor, mean = 0, std = 1): Tensor {
  return noGrad(() => normal_(t, mean, std));
}

export function constantInit_(t: Tensor, v: number): Tensor {
  return noGrad(() => t.fill_(v));
}
