/**
 * The registry: one entry per experiment, in the order of the course. A plain table; the demo
 * page iterates over it (and renders a form from each entry's defaults).
 */
import type { Experiment, ExperimentId } from '../types';
import { tanhSurface } from './tanh-surface';
import { initialization } from './initialization';
import { activations } from './activations';
import { optimizerRace } from './optimizer-race';
import { lrDecay } from './lr-decay';
import { normalization } from './normalization';
import { sharpness } from './sharpness';
import { interpolation } from './interpolation';
import { swa } from './swa';
import { mixup } from './mixup';
import { earlyStopping } from './early-stopping';
import { lotteryTicketExperiment } from './lottery-ticket';
import { adversarial } from './adversarial';
import { memorization } from './memorization';
import { doubleDescent } from './double-descent';
import { biasVarianceExperiment } from './bias-variance';
import { minimaSpread } from './minima-spread';
import { deconstructingTickets } from './deconstructing-tickets';

export const experiments = {
  tanhSurface,
  initialization,
  activations,
  optimizerRace,
  lrDecay,
  normalization,
  sharpness,
  interpolation,
  swa,
  mixup,
  earlyStopping,
  lotteryTicket: lotteryTicketExperiment,
  adversarial,
  memorization,
  doubleDescent,
  biasVariance: biasVarianceExperiment,
  minimaSpread,
  deconstructingTickets,
} satisfies Record<ExperimentId, Experiment>;
