/**
 * The random draws of a batch's transforms, taken in one place and used in another: a batch made
 * in a worker thread must get exactly the numbers the training thread's generator would have given
 * it, and that generator runs through the epoch image after image. So the training thread walks the
 * generator with each transform's `draw` (the same draws as its `apply`, without an image) and
 * records the numbers on a tape, and the worker's transforms draw from the tape instead.
 *
 * The tape holds the generator's uniform floats; `int(n)` is derived from one of them as `Rng.int`
 * derives it, so replayed integers are the generator's too.
 */
import type {ImageTransform, RandomSource} from '../registry/registry.js'

/** A source that passes the draws of `rng` through and records them. */
export class DrawRecorder implements RandomSource {
  private values = new Float64Array(1024)
  private length = 0

  constructor(private readonly rng: RandomSource) {}

  float(): number {
    const v = this.rng.float()
    if (this.length === this.values.length) {
      const grown = new Float64Array(this.values.length * 2)
      grown.set(this.values)
      this.values = grown
    }
    this.values[this.length++] = v
    return v
  }

  int(n: number): number {
    return Math.floor(this.float() * n)
  }

  /** Numbers recorded since the last `take`. */
  get count(): number {
    return this.length
  }

  /** The recorded numbers (a copy of its own, to hand to another thread), and a fresh start. */
  take(): Float64Array {
    const out = this.values.slice(0, this.length)
    this.length = 0
    return out
  }
}

/** What a batch's images draw: the tape, and where each image's draws begin (`starts[count]` = the tape's length). */
export interface BatchDraws {
  tape: Float64Array
  starts: Int32Array
}

/** Records the draws `steps` make for `count` images of side `size`, image by image, each in list order. */
export function recordDraws(steps: ImageTransform[], count: number, size: number, recorder: DrawRecorder): BatchDraws {
  const starts = new Int32Array(count + 1)
  for (let k = 0; k < count; k++) {
    starts[k] = recorder.count
    for (const step of steps) step.draw!(size, recorder)
  }
  starts[count] = recorder.count
  return {tape: recorder.take(), starts}
}

/** Thrown when a transform draws more, or fewer, numbers than its `draw` recorded. */
export class DrawMismatchError extends Error {}

/** A source that gives back a tape's numbers, one image's stretch at a time. */
export class DrawReplay implements RandomSource {
  private pos = 0
  private end = 0

  constructor(private readonly draws: BatchDraws) {}

  /** Replay image `k`'s draws. */
  image(k: number): void {
    this.pos = this.draws.starts[k]
    this.end = this.draws.starts[k + 1]
  }

  float(): number {
    if (this.pos >= this.end) throw new DrawMismatchError(`a transform drew more numbers than its draw() recorded (${this.end - this.draws.starts[0]} for the batch so far)`)
    return this.draws.tape[this.pos++]
  }

  int(n: number): number {
    return Math.floor(this.float() * n)
  }

  /** Throws unless the image's draws were all used. */
  finish(): void {
    if (this.pos !== this.end) throw new DrawMismatchError(`the transforms drew ${this.end - this.pos} fewer numbers than their draw() recorded`)
  }
}
