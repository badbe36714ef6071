/**
 * Data pipeline benchmark: milliseconds per batch of the seeded batcher (shuffle, scale to [0, 1],
 * and for training the flip + colour jitter augmentation) at the paper's image sizes. Prints
 * measured numbers; asserts nothing.
 *
 *   node dist/bench/batches.js
 */
import '../src/builtins.js'
import {batches, DEFAULT_AUGMENT, type Split} from '../src/data/index.js'
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

for (const c of CASES) {
  const split = randomSplit(c.count, c.size)
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
    console.log(`batch ${c.batch} of ${c.size}×${c.size}, ${augment ? 'train (flip + jitter)' : 'eval (scale only)'}: ${wall.toFixed(2)} ms/batch wall, ${cpuMs.toFixed(2)} ms/batch CPU (${n} batches)`)
  }
}
