/**
 * `webtrain train --model cnn`: a small convolutional network for square grey images given as flat
 * rows (MNIST's [N, 784]):
 *   Unflatten → [N, 1, S, S]
 *   Conv2d(1, 8, 3, padding 1) → [norm] → act → MaxPool2d(2)      [N, 8, S/2, S/2]
 *   Conv2d(8, 16, 3, padding 1) → [norm] → act → MaxPool2d(2)     [N, 16, S/4, S/4]
 *   Flatten → [Dropout] → Linear(16 · (S/4)², classes)
 * (S/2 and S/4 round down.) For 28x28 digits that is 784 features into the Linear layer and
 * 9,098 parameters in all.
 */
import * as wt from '../index';
import { UsageError, type TrainConfig } from './args';

/** The layer widths: channels of the two convolutions. */
const CHANNELS = [8, 16] as const;

/** Where the model lives and how it is seeded; the rest comes from the config. */
export interface CnnOptions {
  inputs: number;
  classes: number;
  seed: number;
  backend: wt.BackendName;
}

/** The CNN for `cfg` (activation, norm, dropout), or a UsageError when the data are not square images. */
export function buildCnn(cfg: TrainConfig, { inputs, classes, seed, backend }: CnnOptions): wt.nn.Sequential {
  const side = Math.round(Math.sqrt(inputs));
  if (side * side !== inputs || side < 4) {
    throw new UsageError(`--model cnn needs square grey images of at least 4x4 pixels given as rows of side² values (mnist: 784 = 28x28); ` +
      `--data ${cfg.data} has ${inputs} input${inputs === 1 ? '' : 's'}; use --model mlp:<sizes> for it`);
  }
  const layers: wt.nn.Module[] = [new wt.nn.Unflatten(1, [1, side, side])];
  let channels = 1;
  let size = side;
  CHANNELS.forEach((out, k) => {
    layers.push(new wt.nn.Conv2d(channels, out, 3, { padding: 1, seed: seed + k, backend }));
    if (cfg.norm === 'batch') layers.push(new wt.nn.BatchNorm2d(out, { backend }));
    // LayerNorm over a feature map = GroupNorm with one group (statistics over channels and pixels).
    if (cfg.norm === 'layer') layers.push(new wt.nn.GroupNorm(1, out, { backend }));
    layers.push(activation(cfg.activation));
    layers.push(new wt.nn.MaxPool2d(2));
    channels = out;
    size = Math.floor(size / 2);
  });
  layers.push(new wt.nn.Flatten());
  if (cfg.dropout > 0) layers.push(new wt.nn.Dropout(cfg.dropout));
  layers.push(new wt.nn.Linear(channels * size * size, classes, { seed: seed + CHANNELS.length, backend }));
  return new wt.nn.Sequential(...layers);
}

/** The one-line description of the CNN for the log, e.g. 'cnn 28x28: conv 3x3 1→8, pool 2, conv 3x3 8→16, pool 2, linear 784→10'. */
export function describeCnn(model: wt.nn.Sequential): string {
  const parts: string[] = [];
  let side = 0;
  for (let i = 0; i < model.length; i++) {
    const m = model.at(i);
    if (m instanceof wt.nn.Unflatten) side = m.sizes[1];
    else if (m instanceof wt.nn.Conv2d) parts.push(`conv ${m.kernelSize.join('x')} ${m.inChannels}→${m.outChannels}`);
    else if (m instanceof wt.nn.MaxPool2d) parts.push(`pool ${m.kernelSize[0]}`);
    else if (m instanceof wt.nn.Linear) parts.push(`linear ${m.inFeatures}→${m.outFeatures}`);
  }
  return `cnn ${side}x${side}: ${parts.join(', ')}`;
}

function activation(name: TrainConfig['activation']): wt.nn.Module {
  switch (name) {
    case 'relu': return new wt.nn.ReLU();
    case 'tanh': return new wt.nn.Tanh();
    case 'sigmoid': return new wt.nn.Sigmoid();
    case 'leakyRelu': return new wt.nn.LeakyReLU();
    case 'gelu': return new wt.nn.GELU();
  }
}
