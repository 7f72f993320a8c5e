// yolov5's optimizer groups: biases (no decay) first, then weights with decay, then
// normalisation weights without decay; SGD is Nesterov, Adam/AdamW use betas (momentum, 0.999).
import { nn, optim, type Tensor } from '@tsyolo/torch';

export type OptimizerName = 'SGD' | 'Adam' | 'AdamW' | 'RMSProp';

export interface ParamGroups {
  /** weights with decay */
  weights: Tensor[];
  /** BatchNorm weights, no decay */
  norms: Tensor[];
  /** biases, no decay */
  biases: Tensor[];
}

/** Splits trainable parameters the way yolov5's smart_optimizer does. */
export function splitParams(model: nn.Module): ParamGroups {
  const g: ParamGroups = { weights: [], norms: [], biases: [] };
  for (const [, m] of model.namedModules()) {
    for (const [name, p] of m.namedParameters().filter(([n]) => !n.includes('.'))) {
      if (name === 'bias') g.biases.push(p);
      else if (name === 'weight' && m instanceof nn.BatchNorm2d) g.norms.push(p);
      else g.weights.push(p);
    }
  }
  return g;
}

export function smartOptimizer(
  model: nn.Module,
  name: OptimizerName,
  lr: number,
  momentum: number,
  decay: number,
): optim.Optimizer {
  const g = splitParams(model);
  let opt: optim.Optimizer;
  switch (name) {
    case 'Adam':
      opt = new optim.Adam([{ params: g.biases }], { lr, betas: [momentum, 0.999] });
      break;
    case 'AdamW':
      opt = new optim.AdamW([{ params: g.biases }], { lr, betas: [momentum, 0.999], weight_decay: 0 });
      break;
    case 'RMSProp':
      opt = new optim.RMSprop([{ params: g.biases }], { lr, momentum });
      break;
    case 'SGD':
      opt = new optim.SGD([{ params: g.biases }], { lr, momentum, nesterov: true });
      break;
    default:
      throw new Error(`optimizer '${name as string}' is not one of SGD, Adam, AdamW, RMSProp`);
  }
  // every optimizer here has a weight_decay hyperparameter
  const add = opt as unknown as { addParamGroup(group: { params: Tensor[]; weight_decay: number }): void };
  add.addParamGroup({ params: g.weights, weight_decay: decay });
  add.addParamGroup({ params: g.norms, weight_decay: 0 });
  return opt;
}
