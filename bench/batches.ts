/**
 * Data pipeline benchmark: milliseconds per batch of the seeded batcher (shuffle, scale to [0, 1],
 * and for training the flip + colour jitter augmentation) at the paper's image sizes; then the same
 * training batches taken by a loop whose step leaves the CPU free (a timer as long as a batch takes
 * to make, standing in for a GPU step the host waits on), from the training thread and from data
 * workers: how long the loop waited for its batches, and its wall time per step. Prints measured
 * numbers; asserts nothing.
 *
 *   node dist/bench/batches.js [--workers 0,1,2]
 */
import {setTimeout as sleep} from 'node:timers/promises'
import {parseArgs} from 'node:util'
import '../src/builtins.js'
import {batches, DEFAULT_AUGMENT, type Split} from '../src/data/index.js'
import {BatchWorkers, epochBatches} from '../src/data/batch-workers.js'
import {Rng} from '../src/data/random.js'

/** `count` random RGB images of size×size with labels 0..6. */
function randomSplit(count: number, size: number): Split {
  const images = new Uint8Array(count * size * size * 3)
  const rng = new Rng(1)
  for (let i = 0; i < images.length; i++) images[i] = rng.int(256)
  return {images, labels: Uint8Array.from({length: count}, (_, i) => i % 7), count}
}

const CASES = [
  {count: 4096, size: 32, batch: 64, n: 64},
  {count: 512, size: 96, batch: 16, n: 32},
]

const {values} = parseArgs({options: {workers: {type: 'string', default: '0,1,2'}}})
const WORKERS = values.workers.split(',').map(Number)

for (const c of CASES) {
  const split = randomSplit(c.count, c.size)
  let trainMs = 0
  for (const augment of [DEFAULT_AUGMENT, false] as const) {
    const run = (epoch: number, max: number) => {
      let n = 0
      for (const b of batches(split, {batchSize: c.batch, imageSize: c.size, shuffle: true, seed: 1, epoch, augment})) {
        if (b.size !== c.batch || ++n === max) break
      }
      return n
    }
    run(0, 8) // warm-up
    const t0 = performance.now()
    const cpu0 = process.cpuUsage()
    const n = run(1, c.n)
    const cpu = process.cpuUsage(cpu0)
    const wall = (performance.now() - t0) / n
    const cpuMs = (cpu.user + cpu.system) / 1000 / n
    if (augment) trainMs = wall
    console.log(`batch ${c.batch} of ${c.size}×${c.size}, ${augment ? 'train (flip + jitter)' : 'eval (scale only)'}: ${wall.toFixed(2)} ms/batch wall, ${cpuMs.toFixed(2)} ms/batch CPU (${n} batches)`)
  }
  // A loop like trainOneEpoch's, with a step of `stepMs` that leaves the CPU free.
  const stepMs = Math.max(1, Math.round(trainMs))
  for (const workers of WORKERS) {
    const pool = workers > 0 ? new BatchWorkers(workers, 2 * workers) : undefined
    const opts = {batchSize: c.batch, imageSize: c.size, shuffle: true, seed: 1, augment: DEFAULT_AUGMENT, limit: c.n, what: 'random images'}
    const epoch = async (e: number) => {
      const it = epochBatches(split, {...opts, epoch: e}, pool)
      let waited = 0
      let steps = 0
      const t0 = performance.now()
      for (;;) {
        const d0 = performance.now()
        const next = await it.next()
        if (next.done) break
        waited += performance.now() - d0
        await sleep(stepMs)
        steps++
      }
      return {perStep: (performance.now() - t0) / steps, waited: waited / steps}
    }
    await epoch(0) // warm-up: workers start, the split is shared
    const r = await epoch(1)
    await pool?.close()
    console.log(
      `  beside a ${stepMs} ms step that leaves the CPU free, ${workers === 0 ? 'batches made on the training thread' : `${workers} data worker${workers === 1 ? '' : 's'}`}: ` +
        `${r.perStep.toFixed(2)} ms/step wall, ${r.waited.toFixed(2)} ms/step waiting for the batch (${c.n} steps)`,
    )
  }
}
