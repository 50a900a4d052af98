import { fitLinear } from './linear-sgd';
import type { Trainer } from './trainers';

/**
 * Multiclass softmax (multinomial logistic) regression trained with mini-batch Adam (see
 * linear-sgd.ts). Works for two or more classes; one weight row per class.
 */
export const softmaxTrainer: Trainer = {
  name: 'softmax-adam',
  train: (input) => fitLinear(input, 'softmax', 'softmax-adam'),
};
