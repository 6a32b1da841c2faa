import { afterAll, describe, expect, test } from 'vitest';
import * as wt from '../src/index';
import { checkOp, OP_NAMES } from './op-table';
import { availableBackends } from './setup-backends';

const backends = await availableBackends();
afterAll(() => wt.shutdown());

describe.each(backends)('%s', (backend) => {
  test.each(OP_NAMES)('%s', async (name) => {
    expect(await checkOp(name, backend)).toEqual([]);
  });
});
