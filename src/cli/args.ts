/**
 * `webtrain train` flags: parsed with node:util parseArgs (strict: an unknown flag is an error), then
 * checked value by value into a TrainConfig. Every problem is a UsageError naming the flag and the
 * values it accepts (the CLI prints it with a hint and exits with code 2).
 */
import { parseArgs } from 'node:util';

/** A bad command line: the CLI prints the message and exits with code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The values each flag accepts (checked here, listed in the usage errors). */
export const DATA_NAMES = ['mnist', 'spirals', 'moons', 'circles', 'xor', 'blobs'] as const;
export const ACTIVATIONS = ['relu', 'tanh', 'sigmoid', 'leakyRelu', 'gelu'] as const;
export const NORMS = ['none', 'batch', 'layer'] as const;
export const OPTIMIZERS = ['sgd', 'momentum', 'nesterov', 'adagrad', 'rmsprop', 'adam', 'adamw'] as const;
export const DEVICES = ['auto', 'webgpu', 'cpu'] as const;
export const MODELS = ['mlp', 'cnn'] as const;
const SCHEDULE_FORMS = 'constant, inverse:δ, power:δ, step:N:γ, cosine or warmup:N[:inner] (e.g. warmup:200:cosine)';

/** A learning-rate schedule as the user wrote it. */
export type ScheduleSpec =
  | { kind: 'constant' }
  | { kind: 'cosine' }
  | { kind: 'inverse'; delta: number }
  | { kind: 'power'; delta: number }
  | { kind: 'step'; epochs: number; gamma: number }
  | { kind: 'warmup'; steps: number; inner: ScheduleSpec };

/** Everything a training run needs, with defaults filled in. JSON-serializable (saved in checkpoints). */
export interface TrainConfig {
  /** 'mnist', a synthetic set, or 'idx:<dir>'. */
  data: string;
  /** The architecture: an MLP of `sizes`, or the small CNN for square grey images (src/cli/cnn.ts). */
  model: (typeof MODELS)[number];
  /** MLP layer widths as written: complete (input first, output last) or hidden only; see resolveSizes. */
  sizes: number[];
  activation: (typeof ACTIVATIONS)[number];
  dropout: number;
  norm: (typeof NORMS)[number];
  optimizer: (typeof OPTIMIZERS)[number];
  lr: number;
  schedule: string;
  weightDecay: number;
  epochs: number;
  batchSize: number;
  seed: number;
  /** Fraction of the training data held out for validation (0: none). */
  valid: number;
  device: (typeof DEVICES)[number];
  out: string;
  resume: boolean;
  json: boolean;
}

/** Per-data (and per-model) defaults: measured on a 2-core machine without a GPU (see README). */
export function defaultsFor(data: string, model: TrainConfig['model'] = 'mlp'): Pick<TrainConfig, 'sizes' | 'epochs' | 'batchSize' | 'lr' | 'schedule' | 'valid'> {
  if (model === 'cnn') {
    // conv 8 - pool - conv 16 - pool - linear, Adam 3e-3 with cosine decay, batch 32, 8 epochs: 97.95% on
    // the held-out digits with seed 0 (seeds 1, 2: 97.30%, 97.25%; 6 epochs: 97.40-97.75%), 74 s of CPU time.
    return { sizes: [], epochs: 8, batchSize: 32, lr: 3e-3, schedule: 'cosine', valid: 0.1 };
  }
  if (data === 'mnist' || data.startsWith('idx:')) {
    // 784-256-128-10 ReLU, Adam 2e-3 with cosine decay, batch 64, 10 epochs: ≥ 95.5% on the held-out digits.
    return { sizes: [256, 128], epochs: 10, batchSize: 64, lr: 2e-3, schedule: 'cosine', valid: 0.1 };
  }
  return { sizes: [64, 64], epochs: 100, batchSize: 32, lr: 1e-2, schedule: 'constant', valid: 0.15 };
}

/** `webtrain train --help`. */
export const USAGE = `Usage: webtrain train [flags]

Trains a classifier and reports its accuracy on held-out test data.

Data and model
  --data <name>          mnist (default: 10,000 real digits, 8,000 train / 2,000 test), spirals, moons,
                         circles, xor, blobs, or idx:<dir> (MNIST/Fashion-MNIST IDX files in <dir>)
  --model mlp:<sizes>    layer widths joined by '-': all of them, input first and output last
                         (mlp:784-256-128-10), or only the hidden ones (mlp:256-128), in which case the
                         input width and the number of classes are taken from the data. A list whose
                         first width is the data's input width is read as complete.
                         Default: mlp:256-128 for mnist/idx, mlp:64-64 for the 2-D sets
  --model cnn            a small convolutional network for square grey images (mnist, idx):
                         conv 3x3 to 8 channels, max-pool 2, conv 3x3 to 16 channels, max-pool 2,
                         linear to the classes. Its defaults: 8 epochs of batches of 32, Adam 3e-3
                         with cosine decay (--epochs etc. override them)
  --activation <name>    relu (default), tanh, sigmoid, leakyRelu, gelu
  --dropout <p>          dropout after each hidden layer (cnn: before the last linear layer),
                         0 <= p < 1 (default 0)
  --norm <kind>          none (default), batch, layer (cnn: BatchNorm2d, or GroupNorm with one group,
                         after each convolution)
  --valid <fraction>     share of the training data held out for validation, 0 <= f < 1
                         (default 0.1 for mnist/idx, 0.15 otherwise; 0: no validation)

Optimization
  --optimizer <name>     sgd, momentum, nesterov, adagrad, rmsprop, adam (default), adamw
  --lr <rate>            learning rate (default 2e-3 for mnist/idx, 1e-2 otherwise)
  --schedule <s>         constant, inverse:δ (lr/(1+δt)), power:δ (lr/t^δ, 0.5 < δ <= 1),
                         step:N:γ (times γ every N epochs), cosine (to 0 over the run),
                         warmup:N[:inner] (the inner schedule's first rate for N steps, then the inner
                         schedule; inner defaults to constant). t counts optimizer steps.
                         Default: cosine for mnist/idx, constant otherwise
  --weight-decay <λ>     L2 weight decay (AdamW: decoupled), default 0
  --epochs <n>           default 10 for mnist/idx, 100 otherwise
  --batch-size <n>       default 64 for mnist/idx, 32 otherwise (1: per-example SGD)
  --seed <n>             seed of the weights, the validation split and the shuffling (default 0)

Running
  --device <d>           auto (default): a real GPU through WebGPU when there is one, else the CPU
                         backend (a software WebGPU adapter such as SwiftShader is slower than the
                         CPU backend, so auto does not pick it); webgpu: WebGPU even if it is a
                         software adapter; cpu: the JavaScript CPU backend
  --out <dir>            where checkpoint.safetensors, metrics.csv and report.html go
                         (default runs/<data>, runs/<data>-cnn for --model cnn)
  --resume               continue from <out>/checkpoint.safetensors: its saved settings are the
                         defaults, flags given now override them (e.g. more --epochs)
  --json                 progress on stderr; stdout gets one JSON line at the end:
                         {"testAccuracy", "testLoss", "epochs", "seconds", "device"}
  -h, --help             this help

Examples: webtrain train --data mnist --epochs 5 --out runs/quick
          webtrain train --data mnist --model cnn`;

/** node:util parseArgs options: every value is a string, checked by resolveConfig. */
const OPTIONS = {
  data: { type: 'string' },
  model: { type: 'string' },
  activation: { type: 'string' },
  dropout: { type: 'string' },
  norm: { type: 'string' },
  valid: { type: 'string' },
  optimizer: { type: 'string' },
  lr: { type: 'string' },
  schedule: { type: 'string' },
  'weight-decay': { type: 'string' },
  epochs: { type: 'string' },
  'batch-size': { type: 'string' },
  seed: { type: 'string' },
  device: { type: 'string' },
  out: { type: 'string' },
  resume: { type: 'boolean' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** The flags as given (strings), before defaults; `help` when --help was asked for. */
export type RawFlags = { help: boolean; given: Partial<Record<keyof typeof OPTIONS, string | boolean>> };

/** Parses the arguments after `train` (strict): unknown flags, missing values and positionals are UsageErrors. */
export function parseTrainArgs(argv: string[]): RawFlags {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: false });
  } catch (e) {
    throw new UsageError(describeParseError(e as Error & { code?: string }));
  }
  const { help = false, ...given } = parsed.values;
  return { help, given };
}

/**
 * The run's configuration: flags given now, over `base` (a resumed run's saved config) or the
 * defaults for the data set. Every value is checked here.
 */
export function resolveConfig(flags: RawFlags['given'], base?: TrainConfig): TrainConfig {
  const str = (k: keyof typeof OPTIONS) => flags[k] as string | undefined;
  const data = str('data') ?? base?.data ?? 'mnist';
  checkData(data);
  const given = str('model') !== undefined ? parseModel(str('model')!) : undefined;
  // Checkpoints from before --model cnn have no `model`: they are MLPs.
  const model = given?.model ?? base?.model ?? 'mlp';
  const sameRun = base !== undefined && base.data === data && (base.model ?? 'mlp') === model;
  const d = sameRun ? base : { ...defaultsFor(data, model), activation: 'relu', dropout: 0, norm: 'none', optimizer: 'adam', weightDecay: 0, seed: 0 } as const;
  const cfg: TrainConfig = {
    data,
    model,
    sizes: given ? given.sizes : [...d.sizes],
    activation: oneOf('--activation', str('activation') ?? d.activation, ACTIVATIONS),
    dropout: str('dropout') !== undefined ? num('--dropout', str('dropout')!, (v) => v >= 0 && v < 1, 'a probability 0 <= p < 1') : d.dropout,
    norm: oneOf('--norm', str('norm') ?? d.norm, NORMS),
    valid: str('valid') !== undefined ? num('--valid', str('valid')!, (v) => v >= 0 && v < 1, 'a fraction 0 <= f < 1') : d.valid,
    optimizer: oneOf('--optimizer', str('optimizer') ?? d.optimizer, OPTIMIZERS),
    lr: str('lr') !== undefined ? num('--lr', str('lr')!, (v) => v > 0, 'a positive number, e.g. 1e-3') : d.lr,
    schedule: str('schedule') ?? d.schedule,
    weightDecay: str('weight-decay') !== undefined ? num('--weight-decay', str('weight-decay')!, (v) => v >= 0, 'a number >= 0, e.g. 1e-4') : d.weightDecay,
    epochs: str('epochs') !== undefined ? int('--epochs', str('epochs')!, 1) : d.epochs,
    batchSize: str('batch-size') !== undefined ? int('--batch-size', str('batch-size')!, 1) : d.batchSize,
    seed: str('seed') !== undefined ? int('--seed', str('seed')!, 0) : d.seed,
    device: oneOf('--device', str('device') ?? base?.device ?? 'auto', DEVICES),
    out: str('out') ?? base?.out ?? `runs/${data.startsWith('idx:') ? 'idx' : data}${model === 'cnn' ? '-cnn' : ''}`,
    resume: flags.resume === true,
    json: flags.json === true,
  };
  parseSchedule(cfg.schedule); // checked now, built when the step count is known
  return cfg;
}

/** 'mlp:784-256-128-10' → an MLP of [784, 256, 128, 10]; 'cnn' → the CNN (no widths). */
export function parseModel(spec: string): { model: TrainConfig['model']; sizes: number[] } {
  if (spec === 'cnn') return { model: 'cnn', sizes: [] };
  const m = /^mlp:(\d+(?:-\d+)*)$/.exec(spec);
  const bad = () => new UsageError(`--model must be mlp:<sizes> with positive integer widths joined by '-', e.g. mlp:784-256-128-10 or mlp:256-128, ` +
    `or cnn (got '${spec}')`);
  if (!m) throw bad();
  const sizes = m[1].split('-').map(Number);
  if (sizes.some((s) => !Number.isSafeInteger(s) || s < 1)) throw bad();
  return { model: 'mlp', sizes };
}

/**
 * The full layer widths for data with `inputs` features and `classes` classes. A list whose first
 * width is `inputs` is complete, and its last must be `classes`; any other list gives the hidden
 * widths, and the input and output are added.
 */
export function resolveSizes(sizes: number[], inputs: number, classes: number, data: string): { sizes: number[]; filled: boolean } {
  if (sizes.length >= 2 && sizes[0] === inputs) {
    if (sizes.at(-1) !== classes) {
      throw new UsageError(`--model mlp:${sizes.join('-')} ends with ${sizes.at(-1)} outputs, but ${data} has ${classes} classes: ` +
        `end it with ${classes} (mlp:${[...sizes.slice(0, -1), classes].join('-')}), or give only the hidden widths (mlp:${sizes.slice(1, -1).join('-') || '64'})`);
    }
    return { sizes, filled: false };
  }
  return { sizes: [inputs, ...sizes, classes], filled: true };
}

/** Checks a schedule string; see USAGE. */
export function parseSchedule(s: string): ScheduleSpec {
  const bad = (why = '') => new UsageError(`--schedule must be ${SCHEDULE_FORMS}${why ? `: ${why}` : ''} (got '${s}')`);
  const [kind, ...args] = s.split(':');
  const number = (t: string | undefined) => (t !== undefined && t.trim() !== '' && Number.isFinite(Number(t)) ? Number(t) : NaN);
  switch (kind) {
    case 'constant':
    case 'cosine':
      if (args.length) throw bad(`${kind} takes no parameters`);
      return { kind };
    case 'inverse': {
      const delta = number(args[0]);
      if (args.length !== 1 || !(delta >= 0)) throw bad('inverse:δ needs δ >= 0, e.g. inverse:0.01');
      return { kind, delta };
    }
    case 'power': {
      const delta = number(args[0]);
      if (args.length !== 1 || !(delta > 0.5 && delta <= 1)) throw bad('power:δ needs 0.5 < δ <= 1, e.g. power:0.75');
      return { kind, delta };
    }
    case 'step': {
      const epochs = number(args[0]);
      const gamma = number(args[1]);
      if (args.length !== 2 || !(Number.isInteger(epochs) && epochs >= 1) || !(gamma > 0)) throw bad('step:N:γ needs a whole number of epochs N >= 1 and γ > 0, e.g. step:5:0.5');
      return { kind, epochs, gamma };
    }
    case 'warmup': {
      const steps = number(args[0]);
      if (!(Number.isInteger(steps) && steps >= 0)) throw bad('warmup:N needs a whole number of steps N >= 0, e.g. warmup:200 or warmup:200:cosine');
      const inner = args.length > 1 ? parseSchedule(args.slice(1).join(':')) : { kind: 'constant' as const };
      if (inner.kind === 'warmup') throw bad('warmup cannot be nested');
      return { kind, steps, inner };
    }
    default:
      throw bad();
  }
}

function checkData(data: string): void {
  if (data.startsWith('idx:')) {
    if (data.length === 4) throw new UsageError(`--data idx:<dir> needs the folder holding the IDX files, e.g. idx:./fashion (got '${data}')`);
    return;
  }
  if (!(DATA_NAMES as readonly string[]).includes(data)) {
    throw new UsageError(`--data must be one of ${DATA_NAMES.join(', ')} or idx:<dir> (got '${data}')`);
  }
}

function oneOf<T extends string>(flag: string, v: string, values: readonly T[]): T {
  if (!(values as readonly string[]).includes(v)) throw new UsageError(`${flag} must be one of ${values.join(', ')} (got '${v}')`);
  return v as T;
}

function num(flag: string, v: string, ok: (x: number) => boolean, what: string): number {
  const x = v.trim() === '' ? NaN : Number(v);
  if (!Number.isFinite(x) || !ok(x)) throw new UsageError(`${flag} must be ${what} (got '${v}')`);
  return x;
}

function int(flag: string, v: string, min: number): number {
  return num(flag, v, (x) => Number.isSafeInteger(x) && x >= min, `an integer >= ${min}`);
}

function describeParseError(e: Error & { code?: string }): string {
  // node's messages: "Unknown option '--foo'. To specify a positional argument starting with a '-', place it at the end..."
  // and "Option '--lr <value>' argument missing"; keep their first sentence, which names the flag.
  const first = e.message.split('. ')[0].replace(/\.$/, '');
  switch (e.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION': return first;
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL': return `${first}: flags take the form --name value`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE': return first;
    default: return first;
  }
}
