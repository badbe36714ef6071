// A disk that fills while a run trains (the kernel's ENOSPC, from /dev/full through the preload
// full-disk.ts): a summary.json that cannot be written meanwhile is skipped and training goes on; a
// metrics.csv row or checkpoint that cannot be written stops the run saying which file, why, and
// how to go on, with nothing half written; a final summary.json that cannot be written says the
// run is done all the same. Each resumes, once the disk has room, to the numbers of a run the disk
// never stopped.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {mixture, REPO, tempDir, writeSpec} from '../helpers.js'
import {numbers, referenceNumbers, startRun, TINY_SPEC} from './helpers.js'

const EPOCHS = 3
const SPEC = TINY_SPEC(EPOCHS)
const PRELOAD = join(REPO, 'dist', 'test', 'faults', 'full-disk.js')

const reference = referenceNumbers(SPEC, 'mixture-full-')

const runFull = (env: Record<string, string>) => startRun(tempDir('mixture-full-'), SPEC, () => {}, {env, nodeArgs: ['--import', PRELOAD]})
const status = (runDir: string) => JSON.parse(readFileSync(join(runDir, 'summary.json'), 'utf8')) as {status: string; error?: string}
const leftovers = (runDir: string) => readdirSync(runDir).filter((f) => /\.tmp-|\.lock$/.test(f))
/** Once the disk has room again: --resume succeeds and the run ends with the numbers the disk never stopped. */
const resumesToReference = (runDir: string): ReturnType<typeof mixture> => {
  const resumed = mixture(['run', '--resume', runDir])
  assert.equal(resumed.code, 0, resumed.stderr)
  assert.deepEqual(numbers(runDir), reference)
  return resumed
}

test('summary.json unwritable for a moment while training: said once, training goes on and completes', async () => {
  // Writes 2 and 3: after epoch 1 and after epoch 2.
  const r = await runFull({FAULT_FULL_FILE: 'summary.json', FAULT_FULL_FROM: '2', FAULT_FULL_COUNT: '2'})
  assert.equal(r.code, 0, r.stderr)
  assert.equal(r.stderr.match(/cannot write .*summary\.json: the disk is full \(ENOSPC\); free space on it; training goes on/g)?.length, 1, r.stderr)
  assert.equal(status(r.runDir!).status, 'completed')
  assert.deepEqual(numbers(r.runDir!), reference)
})

test('a metrics.csv row that cannot be written stops the run, naming the file and the checkpoint to resume from; no half row', async () => {
  // Its writes: the header, then a row after each epoch: the row of epoch 2 meets the full disk.
  const r = await runFull({FAULT_FULL_FILE: 'metrics.csv', FAULT_FULL_FROM: '3'})
  assert.equal(r.code, 1, r.stderr)
  assert.match(r.stderr, /cannot write .*metrics\.csv: the disk is full \(ENOSPC\); free space on it\. The run stopped at epoch 2; the checkpoint after epoch 1 is kept: once the file can be written, continue with: mixture run --resume /)
  assert.deepEqual([status(r.runDir!).status, numbers(r.runDir!)], ['failed', reference.slice(0, 1)])
  assert.deepEqual(leftovers(r.runDir!), [])
  resumesToReference(r.runDir!)
})

test('a checkpoint that cannot be written stops the run the same way; the earlier checkpoint stays whole', async () => {
  // last.ckpt after epoch 1 is written, after epoch 2 not.
  const r = await runFull({FAULT_FULL_FILE: 'last.ckpt', FAULT_FULL_FROM: '2'})
  assert.equal(r.code, 1, r.stderr)
  assert.match(r.stderr, /cannot write .*last\.ckpt: the disk is full \(ENOSPC\)\S* free space on it\. The run stopped at epoch 2; the checkpoint after epoch 1 is kept/)
  assert.deepEqual(leftovers(r.runDir!), [])
  resumesToReference(r.runDir!)
})

test('a final summary.json that cannot be written: the run says it trained every epoch and how to write it; --resume writes it', async () => {
  // Writes: at the start, after each of the 3 epochs, then the final one (5).
  const r = await runFull({FAULT_FULL_FILE: 'summary.json', FAULT_FULL_FROM: '5'})
  assert.equal(r.code, 1, r.stderr)
  assert.match(r.stderr, /all 3 epoch\(s\) trained and the checkpoint after epoch 3 is kept, but cannot write .*summary\.json: the disk is full \(ENOSPC\); free space on it; once it can be written, mixture run --resume .* writes it \(nothing is trained again\)/)
  assert.equal(status(r.runDir!).status, 'running')
  assert.deepEqual(leftovers(r.runDir!), [])
  const resumed = resumesToReference(r.runDir!)
  assert.match(resumed.stderr + resumed.stdout, /nothing to train/)
  assert.equal(status(r.runDir!).status, 'completed')
})

test("a sweep whose table cannot be written fails (exit 1) saying its points are done and how to write the table; then sweep finish writes it", () => {
  const dir = tempDir('mixture-full-')
  const spec = writeSpec(TINY_SPEC(1), dir)
  const sweep = join(dir, 'results', 'spec-sweep')
  const r = mixture(['sweep', spec, '--set', 'seed=1,2', '--out', join(dir, 'results')], {nodeArgs: ['--import', PRELOAD], env: {FAULT_FULL_FILE: 'table.md'}})
  assert.equal(r.code, 1, r.stderr)
  assert.match(r.stderr, /the sweep's points are done and recorded in index\.json, but its table was not written: cannot write .*table\.md: the disk is full \(ENOSPC\); free space on it; once it can be, write it with: mixture sweep finish /)
  const finished = mixture(['sweep', 'finish', sweep])
  assert.equal(finished.code, 0, finished.stderr)
  assert.match(readFileSync(join(sweep, 'table.md'), 'utf8'), /n=2/)
})
