import { fitLinear } from './linear-sgd';
import type { Trainer } from './trainers';

/**
 * Binary logistic regression trained with mini-batch Adam (see linear-sgd.ts). Needs exactly two
 * classes; the model outputs P(classes[1]), so put the positive class second.
 */
export const logisticTrainer: Trainer = {
  name: 'logistic-adam',
  train: (input) => fitLinear(input, 'logistic', 'logistic-adam'),
};
