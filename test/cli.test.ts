/**
 * The `webtrain` command end to end: the built bin (bin/webtrain.mjs → dist/cli.js, built by
 * `npm test` before the suite) run as a child process on small synthetic data on the CPU backend.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import * as wt from '../src/index';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = join(root, 'bin', 'webtrain.mjs');
let dir: string;

beforeAll(async () => {
  if (!existsSync(join(root, 'dist', 'cli.js'))) throw new Error('dist/cli.js is missing: run `npm run build` first (npm test does)');
  dir = await mkdtemp(join(tmpdir(), 'webtrain-cli-'));
  await wt.init({ backend: 'cpu' });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  wt.shutdown();
});

/** Runs `webtrain ...args`; resolves with the exit code and the output (never rejects on a non-zero exit). */
function webtrain(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { cwd: root, timeout: 110_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

const small = ['--data', 'spirals', '--device', 'cpu', '--model', 'mlp:16-16', '--batch-size', '32'];

describe('webtrain train', () => {
  test('runs end to end: --json ends with one JSON line; checkpoint, metrics.csv and report.html are written', async () => {
    const out = join(dir, 'run');
    const r = await webtrain('train', ...small, '--epochs', '3', '--out', out, '--json');
    expect(r.stderr).not.toMatch(/webtrain train: /);
    expect(r.code).toBe(0);
    // stdout is exactly the JSON line; the human-readable progress went to stderr.
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const result = JSON.parse(lines[0]);
    expect(Object.keys(result)).toEqual(['testAccuracy', 'testLoss', 'epochs', 'seconds', 'device']);
    expect(result.epochs).toBe(3);
    expect(result.device).toBe('cpu');
    expect(result.testAccuracy).toBeGreaterThan(0.3);
    expect(result.testLoss).toBeGreaterThan(0);
    expect(r.stderr).toMatch(/device: cpu \(JavaScript CPU backend\)/);
    expect(r.stderr).toMatch(/model: mlp 2-16-16-2 relu/);
    expect(r.stderr).toMatch(/epoch 3\/3 +train loss \d\.\d{4} acc [\d.]+%  valid loss/);

    const csv = (await readFile(join(out, 'metrics.csv'), 'utf8')).trim().split('\n');
    expect(csv[0]).toBe('epoch,train_loss,train_accuracy,valid_loss,valid_accuracy,seconds,lr');
    expect(csv.slice(1).map((l) => l.split(',')[0])).toEqual(['1', '2', '3']);
    expect(csv[3].split(',').every((c) => c !== '' && Number.isFinite(Number(c)))).toBe(true);

    const html = await readFile(join(out, 'report.html'), 'utf8');
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('uPlot'); // the library is inlined: the page works offline
    expect(html).not.toMatch(/<script[^>]+src=/);
    expect(html).toContain('"epochs":[1,2,3]');
    expect(html).toContain('test accuracy');

    // The checkpoint loads into the same architecture.
    const model = wt.nn.mlp({ sizes: [2, 16, 16, 2], backend: 'cpu' });
    const { step, meta } = await wt.io.load(join(out, 'checkpoint.safetensors'), { model });
    expect(meta.epoch).toBe(2);
    expect(step).toBe(3 * Math.ceil(272 / 32));
    model.dispose();
  });

  test('--resume continues from the checkpoint and ends where an uninterrupted run ends', async () => {
    const straight = await webtrain('train', ...small, '--epochs', '4', '--out', join(dir, 'straight'), '--json');
    const out = join(dir, 'resumed');
    const first = await webtrain('train', ...small, '--epochs', '2', '--out', out, '--json');
    expect(first.code).toBe(0);
    // Only --epochs given: everything else comes from the checkpoint's saved settings.
    const second = await webtrain('train', '--resume', '--out', out, '--epochs', '4', '--json');
    expect(second.code).toBe(0);
    expect(second.stderr).toMatch(/resumed from .*checkpoint\.safetensors: 2 epochs done, step 18/);
    expect(second.stderr).not.toMatch(/epoch 1\/4/);
    expect(second.stderr).toMatch(/epoch 3\/4/);
    const a = JSON.parse(straight.stdout.trim());
    const b = JSON.parse(second.stdout.trim());
    expect(b.epochs).toBe(4);
    // Same shuffles (seeded per epoch), restored weights and Adam state: the same numbers.
    expect(b.testLoss).toBe(a.testLoss);
    expect(b.testAccuracy).toBe(a.testAccuracy);
    const csv = (await readFile(join(out, 'metrics.csv'), 'utf8')).trim().split('\n');
    expect(csv).toHaveLength(5);
    const csvStraight = (await readFile(join(dir, 'straight', 'metrics.csv'), 'utf8')).trim().split('\n');
    const losses = (rows: string[]) => rows.slice(1).map((l) => l.split(',').slice(1, 5).join());
    expect(losses(csv)).toEqual(losses(csvStraight));
  });

  test('--resume refuses other data than the checkpoint was trained on', async () => {
    const out = join(dir, 'resumed'); // written by the test above
    const r = await webtrain('train', '--resume', '--out', out, '--data', 'moons');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--resume: the checkpoint in .* was trained on --data spirals, not moons/);
  });

  test('--data idx:<dir> reads MNIST-style IDX files (gzipped too)', async () => {
    // 4×4 images: class 0 lights the top half, class 1 the bottom half (u8 pixels, with noise).
    const idx = join(dir, 'idx');
    await mkdir(idx);
    const make = async (prefix: string, n: number, gzip: boolean) => {
      const images = new Uint8Array(n * 16);
      const labels = new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        labels[i] = i % 2;
        for (let p = 0; p < 16; p++) images[i * 16 + p] = ((p < 8) === (labels[i] === 0) ? 200 : 20) + ((i * 7 + p * 13) % 40);
      }
      const ext = gzip ? '.gz' : '';
      await wt.data.writeIdx(join(idx, `${prefix}-images-idx3-ubyte${ext}`), { shape: [n, 4, 4], dtype: 'u8', data: images }, { gzip });
      await wt.data.writeIdx(join(idx, `${prefix}-labels-idx1-ubyte${ext}`), { shape: [n], dtype: 'u8', data: labels }, { gzip });
    };
    await make('train', 100, true);
    await make('t10k', 20, false);
    const r = await webtrain('train', '--data', `idx:${idx}`, '--model', 'mlp:8', '--epochs', '30', '--lr', '0.02', '--batch-size', '16', '--device', 'cpu', '--out', join(dir, 'idx-run'), '--json');
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/data: idx:.*: 90 train, 10 valid, 20 test examples, 16 inputs, 10 classes/);
    expect(r.stderr).toMatch(/model: mlp 16-8-10 relu/);
    expect(JSON.parse(r.stdout.trim()).testAccuracy).toBe(1);
  });

  test('--model cnn trains the small CNN on square images (the IDX digits above, 4x4)', async () => {
    const idx = join(dir, 'idx'); // written by the test above
    const r = await webtrain('train', '--data', `idx:${idx}`, '--model', 'cnn', '--epochs', '15', '--lr', '0.01', '--batch-size', '16',
      '--device', 'cpu', '--out', join(dir, 'cnn-run'), '--json');
    expect(r.stderr).not.toMatch(/webtrain train: /);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/model: cnn 4x4: conv 3x3 1→8, pool 2, conv 3x3 8→16, pool 2, linear 16→10 relu; adam lr 0.01 cosine; 15 epochs of 6 batches of 16/);
    expect(JSON.parse(r.stdout.trim()).testAccuracy).toBe(1);
    // The checkpoint remembers the architecture: --resume rebuilds the CNN and loads it.
    const resumed = await webtrain('train', '--resume', '--out', join(dir, 'cnn-run'), '--epochs', '16', '--json');
    expect(resumed.code).toBe(0);
    expect(resumed.stderr).toMatch(/model: cnn 4x4: /);
    expect(resumed.stderr).toMatch(/resumed from .*: 15 epochs done, step 90/);
    expect(JSON.parse(resumed.stdout.trim()).epochs).toBe(16);
  });

  test('--model cnn refuses data that are not square images', async () => {
    const r = await webtrain('train', ...small, '--model', 'cnn', '--out', join(tmpdir(), 'webtrain-cli-unused'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--model cnn needs square grey images of at least 4x4 pixels .*--data spirals has 2 inputs; use --model mlp:<sizes> for it/);
  });

  test('--resume without a checkpoint fails clearly', async () => {
    const r = await webtrain('train', '--resume', '--out', join(dir, 'nothing-here'), '--data', 'xor', '--device', 'cpu');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/--resume: no checkpoint at .*nothing-here.*checkpoint\.safetensors/);
  });

  test('without --json and without a terminal: one line per epoch on stdout', async () => {
    const r = await webtrain('train', ...small, '--epochs', '2', '--out', join(dir, 'plain'), '--schedule', 'step:1:0.5', '--optimizer', 'momentum', '--lr', '0.05');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^device: cpu/);
    expect(lines.filter((l) => /^epoch [12]\/2 /.test(l))).toHaveLength(2);
    expect(lines.find((l) => l.startsWith('epoch 2/2'))).toMatch(/lr 0\.0250$/); // step:1:0.5 halves it after epoch 1
    expect(lines.at(-2)).toMatch(/^test: loss \d\.\d{4}, accuracy [\d.]+% on 80 held-out examples/);
    expect(r.stdout).not.toMatch(/\u001b\[/); // no progress bar escape codes
  });

  test.each([
    [['--bogus'], /Unknown option '--bogus'/],
    [['--optimizer', 'adamx'], /--optimizer must be one of sgd, momentum, nesterov, adagrad, rmsprop, adam, adamw \(got 'adamx'\)/],
    [['--data', 'cifar'], /--data must be one of mnist, spirals, moons, circles, xor, blobs or idx:<dir> \(got 'cifar'\)/],
    [['--model', 'cnn:3'], /--model must be mlp:<sizes>/],
    [['--lr', '0'], /--lr must be a positive number, e.g. 1e-3 \(got '0'\)/],
    [['--lr=-1'], /--lr must be a positive number/],
    [['--lr'], /Option '--lr <value>' argument missing/],
    [['--epochs', '2.5'], /--epochs must be an integer >= 1 \(got '2.5'\)/],
    [['--schedule', 'power:2'], /--schedule must be .*power:δ needs 0.5 < δ <= 1/],
    [['--device', 'tpu'], /--device must be one of auto, webgpu, cpu/],
    [['--dropout', '1'], /--dropout must be a probability/],
    [['extra'], /Unexpected argument 'extra'/],
    [[...small, '--model', 'mlp:2-8-3', '--out', join(tmpdir(), 'webtrain-cli-unused')], /--model mlp:2-8-3 ends with 3 outputs, but spirals has 2 classes/],
  ])('bad flags %j exit with code 2 and a usage message', async (args, message) => {
    const r = await webtrain('train', ...args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toMatch(/Run 'webtrain train --help' to see every flag/);
    expect(r.stdout).toBe('');
  });

  test('--help prints the flags and exits 0; an unknown command exits 2', async () => {
    const help = await webtrain('train', '--help');
    expect(help.code).toBe(0);
    for (const flag of ['--data', '--model', '--optimizer', '--schedule', '--device', '--resume', '--json']) expect(help.stdout).toContain(flag);
    expect(help.stdout).toContain('--model cnn');
    const bad = await webtrain('fly');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/unknown command 'fly'/);
  });
});
