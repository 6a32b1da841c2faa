/**
 * The `webtrain` command line. `webtrain train` loads a data set, builds an MLP or a CNN, trains it with
 * wt.train.fit (a progress bar per epoch on a terminal, one line per epoch otherwise), evaluates it
 * on held-out test data, and writes <out>/checkpoint.safetensors (after every epoch, so --resume can
 * continue), <out>/metrics.csv and <out>/report.html. Exit codes: 0 done, 1 failed, 2 bad usage.
 *
 * Built by vite into dist/cli.js (importing the library as ./webtrain.js); bin/webtrain.mjs runs it.
 */
import { mkdir, writeFile, access } from 'node:fs/promises';
import { join } from 'node:path';
import cliProgress from 'cli-progress';
import * as wt from '../index';
import {
  parseSchedule, parseTrainArgs, resolveConfig, resolveSizes, UsageError, USAGE, type ScheduleSpec, type TrainConfig,
} from './args';
import { buildCnn, describeCnn } from './cnn';
import { metricsCsv, reportHtml, type EpochRow } from './report';

const TOP_USAGE = `Usage: webtrain <command> [flags]

Commands
  train      train a classifier (webtrain train --help for its flags)

Example: webtrain train --data mnist`;

/** Runs the CLI with `argv` (the arguments after the program name); resolves to the exit code. */
export async function main(argv: string[], io: { stdout?: NodeJS.WritableStream; stderr?: NodeJS.WritableStream } = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    stdout.write(`${TOP_USAGE}\n`);
    return command === undefined ? 2 : 0;
  }
  if (command !== 'train') {
    stderr.write(`webtrain: unknown command '${command}' (expected: train)\n\n${TOP_USAGE}\n`);
    return 2;
  }
  try {
    const flags = parseTrainArgs(rest);
    if (flags.help) {
      stdout.write(`${USAGE}\n`);
      return 0;
    }
    return await train(flags.given, stdout, stderr);
  } catch (e) {
    if (e instanceof UsageError) {
      stderr.write(`webtrain train: ${e.message}\nRun 'webtrain train --help' to see every flag.\n`);
      return 2;
    }
    stderr.write(`webtrain train: ${(e as Error).message ?? String(e)}\n`);
    if (process.env.WEBTRAIN_DEBUG) stderr.write(`${(e as Error).stack}\n`);
    return 1;
  } finally {
    // Dawn keeps Node's event loop alive while a GPU device exists.
    wt.shutdown();
  }
}

/** `webtrain train` after parsing: returns the exit code (throws UsageError for bad values). */
async function train(given: ReturnType<typeof parseTrainArgs>['given'], stdout: NodeJS.WritableStream, stderr: NodeJS.WritableStream): Promise<number> {
  const started = performance.now();
  // The configuration: a resumed run starts from the one saved in its checkpoint.
  let cfg = resolveConfig(given);
  const checkpointPath = () => join(cfg.out, 'checkpoint.safetensors');
  let saved: { meta: Record<string, unknown> } | null = null;
  if (cfg.resume) {
    if (!(await exists(checkpointPath()))) {
      throw new Error(`--resume: no checkpoint at ${checkpointPath()} (train without --resume first, or pass the --out of that run)`);
    }
    saved = await wt.io.load(checkpointPath());
    const base = saved.meta.config as TrainConfig | undefined;
    if (!base) throw new Error(`--resume: ${checkpointPath()} was not written by webtrain train (no config in its metadata)`);
    if (given.data !== undefined && given.data !== base.data) {
      throw new UsageError(`--resume: the checkpoint in ${cfg.out} was trained on --data ${base.data}, not ${String(given.data)}; ` +
        'leave out --data to continue it, or pass another --out to start a new run');
    }
    cfg = resolveConfig({ data: base.data, out: cfg.out, ...given }, { ...base, out: cfg.out });
  }
  const log = (line: string) => (cfg.json ? stderr : stdout).write(`${line}\n`);
  const interactive = !cfg.json && Boolean((stdout as NodeJS.WriteStream).isTTY) && Boolean((stderr as NodeJS.WriteStream).isTTY);

  // Device, then data and model on it.
  const device = await chooseDevice(cfg.device);
  wt.seed(cfg.seed);
  const data = await loadData(cfg, device.backend);
  let model: wt.nn.Sequential;
  /** The model as --model would name it, its description for the log, and where its sizes came from. */
  let spec: string;
  let architecture: string;
  let sizesNote = '';
  try {
    if (cfg.model === 'cnn') {
      model = buildCnn(cfg, { inputs: data.inputs, classes: data.classes, seed: cfg.seed, backend: device.backend });
      spec = 'cnn';
      architecture = describeCnn(model);
    } else {
      const { sizes, filled } = resolveSizes(cfg.sizes, data.inputs, data.classes, cfg.data);
      model = wt.nn.mlp({ sizes, activation: cfg.activation, dropout: cfg.dropout, norm: cfg.norm, seed: cfg.seed, backend: device.backend });
      spec = `mlp:${sizes.join('-')}`;
      architecture = `mlp ${sizes.join('-')}`;
      if (filled) sizesNote = ` (input ${data.inputs} and output ${data.classes} from the data)`;
    }
  } catch (e) {
    for (const ds of [data.train, data.valid, data.test]) ds?.dispose();
    throw e;
  }
  log(`device: ${device.line}`);
  log(`data: ${cfg.data}: ${data.train.size} train, ${data.valid ? `${data.valid.size} valid, ` : ''}${data.test.size} test examples, ` +
    `${data.inputs} inputs, ${data.classes} classes`);
  const stepsPerEpoch = Math.ceil(data.train.size / cfg.batchSize);
  const lr = buildSchedule(parseSchedule(cfg.schedule), cfg.lr, stepsPerEpoch, cfg.epochs * stepsPerEpoch);
  const optimizer = wt.train.makeOptimizer({ name: cfg.optimizer, lr, weightDecay: cfg.weightDecay }, model.parameters());
  log(`model: ${architecture} ${cfg.activation}${cfg.norm !== 'none' ? `, ${cfg.norm} norm` : ''}${cfg.dropout ? `, dropout ${cfg.dropout}` : ''}` +
    `${sizesNote}; ${cfg.optimizer} lr ${cfg.lr} ${cfg.schedule}` +
    `${cfg.weightDecay ? ` weight decay ${cfg.weightDecay}` : ''}; ${cfg.epochs} epochs of ${stepsPerEpoch} batches of ${cfg.batchSize}`);

  let rows: EpochRow[] = [];
  let initialEpoch = 0;
  try {
    if (cfg.resume) {
      const loaded = await wt.io.load(checkpointPath(), { model, optimizer });
      rows = (loaded.meta.history as EpochRow[] | undefined) ?? [];
      initialEpoch = Number(loaded.meta.epoch) + 1;
      log(`resumed from ${checkpointPath()}: ${initialEpoch} epoch${initialEpoch === 1 ? '' : 's'} done, step ${loaded.step}` +
        `${initialEpoch >= cfg.epochs ? ` (nothing left to train for --epochs ${cfg.epochs}: pass a larger --epochs to train more)` : ''}`);
    }
    await mkdir(cfg.out, { recursive: true });
    const files = {
      checkpoint: checkpointPath(), csv: join(cfg.out, 'metrics.csv'), html: join(cfg.out, 'report.html'),
    };
    const title = `webtrain train --data ${cfg.data}`;
    const reportConfig = { ...cfg, model: spec } as Record<string, unknown>;
    delete reportConfig.sizes;
    delete reportConfig.device; // the summary names the device actually used
    delete reportConfig.json;
    delete reportConfig.resume;

    const bar = interactive ? new cliProgress.SingleBar({
      format: 'epoch {epoch}/{epochs} [{bar}] {value}/{total} batches | loss {loss} | {duration}s',
      hideCursor: true, clearOnComplete: true, stream: stderr, barsize: 30,
    }, cliProgress.Presets.shades_classic) : null;

    await wt.train.fit(model, { train: data.train, valid: data.valid }, {
      epochs: cfg.epochs, batchSize: cfg.batchSize, optimizer, seed: cfg.seed, initialEpoch,
      // On a GPU, replay each full batch's step (same results; dropout draws new masks, so not then).
      captureSteps: device.backend === 'webgpu' && !cfg.dropout,
      callbacks: {
        onEpochBegin: (epoch) => { bar?.start(stepsPerEpoch, 0, { epoch: epoch + 1, epochs: cfg.epochs, loss: '…' }); },
        onBatchEnd: (batch, logs) => {
          bar?.update(batch + 1, { loss: logs.trainLoss === undefined ? '…' : logs.trainLoss.toFixed(4) });
        },
        onEpochEnd: async (epoch, logs) => {
          bar?.stop();
          const row: EpochRow = { ...logs, epoch: epoch + 1 };
          rows.push(row);
          log(epochLine(row, cfg.epochs));
          // After every epoch: a checkpoint to resume from, the metrics, the plot.
          await wt.io.save(files.checkpoint, {
            model, optimizer, step: optimizer.paramGroups[0].step, meta: { epoch, config: { ...cfg, out: undefined }, history: rows },
          });
          await writeFile(files.csv, metricsCsv(rows));
          await writeFile(files.html, reportHtml({ title, device: device.line, config: reportConfig, rows }));
        },
      },
    });

    const test = await wt.train.evaluate(model, data.test, { batchSize: 512 });
    const seconds = (performance.now() - started) / 1000;
    log(`test: loss ${test.loss.toFixed(4)}, accuracy ${pct(test.accuracy)} on ${data.test.size} held-out examples (${seconds.toFixed(1)} s in all)`);
    await writeFile(files.csv, metricsCsv(rows));
    await writeFile(files.html, reportHtml({ title, device: device.line, config: reportConfig, rows, test: { ...test, examples: data.test.size }, seconds }));
    log(`wrote ${files.checkpoint}, ${files.csv}, ${files.html}`);
    if (cfg.json) {
      stdout.write(`${JSON.stringify({ testAccuracy: test.accuracy ?? null, testLoss: test.loss, epochs: rows.length, seconds: round(seconds, 3), device: device.backend })}\n`);
    }
    return 0;
  } finally {
    optimizer.dispose();
    model.dispose();
    for (const ds of [data.train, data.valid, data.test]) ds?.dispose();
  }
}

/**
 * The backend for --device. auto: WebGPU on a real GPU; when the only adapter is a software
 * fallback (SwiftShader, llvmpipe, WARP) the CPU backend, which is faster than a CPU emulating a GPU.
 */
async function chooseDevice(want: TrainConfig['device']): Promise<{ backend: wt.BackendName; line: string }> {
  const cpu = 'cpu (JavaScript CPU backend)';
  if (want === 'cpu') {
    await wt.init({ backend: 'cpu' });
    return { backend: 'cpu', line: `${cpu}, as asked by --device cpu` };
  }
  let info: wt.BackendInfo;
  try {
    info = await wt.init({ backend: 'webgpu' });
  } catch (e) {
    if (want === 'webgpu') throw new Error(`--device webgpu: no WebGPU adapter could be started: ${(e as Error).message}`);
    await wt.init({ backend: 'cpu' });
    return { backend: 'cpu', line: `${cpu}: no WebGPU adapter found (${firstLine((e as Error).message)})` };
  }
  const adapter = describeAdapter(info.adapter);
  if (!info.isFallback) return { backend: 'webgpu', line: `webgpu (${adapter})` };
  if (want === 'webgpu') {
    return { backend: 'webgpu', line: `webgpu (${adapter}, software fallback: a CPU emulating a GPU, slower than --device cpu)` };
  }
  wt.shutdown();
  await wt.init({ backend: 'cpu' });
  return {
    backend: 'cpu',
    line: `${cpu}: the only WebGPU adapter is ${adapter}, a software fallback that runs slower than the CPU backend; --device webgpu uses it anyway`,
  };
}

interface LoadedData {
  train: wt.data.Dataset;
  valid?: wt.data.Dataset;
  test: wt.data.Dataset;
  inputs: number;
  classes: number;
}

/** The data set's train / valid / test parts on `backend`. */
async function loadData(cfg: TrainConfig, backend: wt.BackendName): Promise<LoadedData> {
  let train: wt.data.Dataset;
  let test: wt.data.Dataset;
  if (cfg.data === 'mnist') {
    ({ train, test } = await wt.data.mnist({ backend }));
  } else if (cfg.data.startsWith('idx:')) {
    ({ train, test } = await wt.data.idxDataset(cfg.data.slice(4), { backend }));
  } else {
    // The synthetic sets are fixed (seed 0) so that runs with different --seed see the same data.
    const make = { spirals: wt.data.spirals, moons: wt.data.moons, circles: wt.data.circles, xor: wt.data.xor, blobs: wt.data.blobs }[cfg.data as 'spirals'];
    const all = make({ seed: 0, backend });
    const parts = wt.data.split(all, { test: 0.2, seed: 0 });
    all.dispose();
    ({ train, test } = parts as { train: wt.data.Dataset; test: wt.data.Dataset });
  }
  let valid: wt.data.Dataset | undefined;
  if (cfg.valid > 0) {
    const parts = wt.data.split(train, { valid: cfg.valid, seed: cfg.seed });
    train.dispose();
    ({ train, valid } = parts);
  }
  if (train.x.rank !== 2) throw new Error(`--data ${cfg.data}: inputs must be vectors [N, features] for an MLP, got [${train.x.shape.join(', ')}]`);
  const labels = await train.labels();
  let classes = 0;
  for (const l of labels) classes = Math.max(classes, l + 1);
  if (cfg.data === 'mnist' || cfg.data.startsWith('idx:')) classes = Math.max(classes, 10);
  return { train, valid, test, inputs: train.x.shape[1], classes };
}

/** The optimizer's learning rate for --lr and --schedule (t counts optimizer steps). */
function buildSchedule(s: ScheduleSpec, lr: number, stepsPerEpoch: number, totalSteps: number): wt.optim.LearningRate {
  const S = wt.optim.schedule;
  switch (s.kind) {
    case 'constant': return lr;
    case 'cosine': return S.cosine(lr, Math.max(totalSteps, 1));
    case 'inverse': return S.inverseDecay(lr, s.delta);
    case 'power': return S.powerDecay(lr, s.delta);
    case 'step': return S.step(lr, s.epochs * stepsPerEpoch, s.gamma);
    case 'warmup': {
      const inner = buildSchedule(s.inner, lr, stepsPerEpoch, Math.max(totalSteps - s.steps, 1));
      return S.warmup(s.steps, typeof inner === 'number' ? S.constant(inner) : inner);
    }
  }
}

function epochLine(r: EpochRow, epochs: number): string {
  const w = String(epochs).length;
  const valid = r.validLoss === undefined ? '' : `  valid loss ${r.validLoss.toFixed(4)} acc ${pct(r.validAccuracy)}`;
  return `epoch ${String(r.epoch).padStart(w)}/${epochs}  train loss ${r.trainLoss.toFixed(4)} acc ${pct(r.trainAccuracy)}${valid}  ` +
    `${r.seconds.toFixed(1)} s  lr ${r.lr.toPrecision(3)}`;
}

/** E.g. 'nvidia nvidia-h100-80gb-hbm3 (NVIDIA: 580.159.04)', 'google swiftshader-device-subzero- (SwiftShader driver 5.0.0)'. */
function describeAdapter(a: Record<string, string> | null): string {
  if (!a) return 'unknown adapter';
  const name = [a.vendor, a.device || a.architecture].filter((s) => s && s.trim()).join(' ');
  const detail = a.description?.trim();
  if (!name) return detail || 'unnamed adapter';
  return detail ? `${name} (${detail})` : name;
}

const pct = (x: number | undefined) => (x === undefined ? '–' : `${(100 * x).toFixed(2)}%`);
const round = (x: number, d: number) => Math.round(x * 10 ** d) / 10 ** d;
const firstLine = (s: string) => s.split('\n')[0];

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
