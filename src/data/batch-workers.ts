/**
 * Training batches made by worker threads (`engine.data_workers`), so that a step does not wait
 * for the host to shuffle, augment and scale its images: while the training thread runs step b,
 * the workers make batches b + 1 … b + prefetch (a bounded queue: at most `prefetch` batches are
 * asked for and not yet taken).
 *
 * The batches are the ones `batches()` yields, bit for bit, whatever the number of workers: the
 * epoch's order and the transforms' random draws are taken on the training thread, in the order
 * the synchronous path takes them (draw-tape.ts), and a worker only applies them. The pixels are
 * shared with the workers once per split (a SharedArrayBuffer copy), and each batch comes back as
 * new arrays transferred, not copied.
 *
 * An epoch may be started ahead of its turn (`ahead`: the run starts the next epoch's first batches
 * while it evaluates the one just trained), so that its first step does not wait for them either.
 *
 * Workers hold the process open only while a batch is asked of them; `close` ends them (a run
 * closes them however it ends: done, failed or interrupted). A failure in a worker rejects the
 * batch with a `DataWorkerError` naming the data and the batch.
 */
import {Worker} from 'node:worker_threads'
import {lookup, type DatasetSplit, type LabelArray} from '../registry/registry.js'
import {augmentRng, batchPipeline, batches, checkBatching, epochOrder, numBatches, type Batch, type BatchOptions, type Split} from './batches.js'
import type {FromWorker, ToWorker} from './batch-worker-thread.js'
import {DrawRecorder, recordDraws} from './draw-tape.js'
import type {Pipeline} from './pipeline.js'

/** A batch a data worker could not make (a transform threw, the worker died): exit code 1. */
export class DataWorkerError extends Error {}

export interface EpochBatchOptions extends BatchOptions {
  /** Make at most this many batches (the steps an epoch takes); default: all. */
  limit?: number
  /** Names the data in errors, e.g. "the cifar10 training split". */
  what: string
}

/** Why the batches of `pipe` cannot be made by workers, or undefined when they can. */
export function stayOnTrainingThread(pipe: Pipeline | undefined): string | undefined {
  if (!pipe) return undefined
  for (const [i, spec] of pipe.specs.entries()) {
    const entry = lookup('transform', String(spec.type))
    if (entry?.source !== 'builtin') return `data.augment's ${spec.type} comes from a plugin file, which data workers do not load`
    if (!pipe.steps[i].draw) return `data.augment's ${spec.type} has no draw() to take its random draws on the training thread`
  }
  return undefined
}

/** The process's Node options, less a program given on the command line (`-e`, `-p`) and how to read it (`--input-type`). */
function workerExecArgv(): string[] {
  const out: string[] = []
  for (let i = 0; i < process.execArgv.length; i++) {
    const a = process.execArgv[i]
    if (/^(-e|-p|--eval|--print)$/.test(a)) i++
    else if (!/^--(input-type|eval|print)=/.test(a)) out.push(a)
  }
  return out
}

interface Pending {
  resolve: (batch: Batch) => void
  reject: (error: Error) => void
  worker: number
}

export class BatchWorkers {
  private readonly workers: Worker[]
  private readonly pending = new Map<number, Pending>()
  /** Requests in flight per worker (a worker holds the process open only while it has some). */
  private readonly inFlight: number[]
  private readonly splitIds = new WeakMap<Uint8Array, number>()
  /** Pipelines sent, by their specs (an epoch's pipeline is made anew, the same as the last one). */
  private readonly pipelineIds = new Map<string, number>()
  private nextId = 1
  private failure: Error | undefined
  private closed = false
  /** A timer that holds the process open while a batch is awaited (cleared when none is). */
  private awaited?: NodeJS.Timeout
  /** An epoch started ahead of its turn (`ahead`): its options, and its generator already asking for batches. */
  private early?: {split: Split; opts: EpochBatchOptions; batches: AsyncGenerator<Batch, void, undefined>; first: Promise<IteratorResult<Batch, void>>}

  /** `count` ≥ 1 worker threads; `prefetch` ≥ 1 batches asked for ahead of the one being trained on. */
  constructor(
    count: number,
    readonly prefetch: number,
  ) {
    if (!(Number.isInteger(count) && count >= 1)) throw new RangeError(`data workers: need at least one, got ${count}`)
    if (!(Number.isInteger(prefetch) && prefetch >= 1)) throw new RangeError(`data workers: prefetch must be at least 1, got ${prefetch}`)
    this.inFlight = new Array<number>(count).fill(0)
    this.workers = Array.from({length: count}, (_, i) => this.start(i))
  }

  get size(): number {
    return this.workers.length
  }

  private start(index: number): Worker {
    const worker = new Worker(new URL('./batch-worker-thread.js', import.meta.url), {execArgv: workerExecArgv()})
    worker.unref()
    worker.on('message', (m: FromWorker) => this.answer(m))
    worker.on('error', (error) => this.fail(new DataWorkerError(`data worker ${index + 1} failed: ${error.message}`, {cause: error})))
    worker.on('exit', (code) => {
      if (!this.closed) this.fail(new DataWorkerError(`data worker ${index + 1} exited (code ${code}) while the run still needed it`))
    })
    return worker
  }

  private answer(m: FromWorker): void {
    const p = this.pending.get(m.request)
    if (!p) return
    this.settled(m.request, p)
    if (m.type === 'error') p.reject(new Error(m.message))
    else p.resolve({x: m.x, y: m.y, size: m.y.length})
  }

  private settled(request: number, p: Pending): void {
    this.pending.delete(request)
    if (--this.inFlight[p.worker] === 0) this.workers[p.worker].unref()
    if (this.pending.size === 0 && this.awaited) {
      clearInterval(this.awaited)
      this.awaited = undefined
    }
  }

  /** Every batch asked for fails with `error`, and so does every later request. */
  private fail(error: Error): void {
    this.failure ??= error
    for (const [request, p] of [...this.pending]) {
      this.settled(request, p)
      p.reject(error)
    }
  }

  private post(worker: number, message: ToWorker, transfer: ArrayBuffer[] = []): void {
    this.workers[worker].postMessage(message, transfer)
  }

  /** The id the workers know `split` by; shared with every worker the first time. */
  private share(split: DatasetSplit): number {
    let id = this.splitIds.get(split.images)
    if (id !== undefined) return id
    id = this.nextId++
    // The same kind of array (labels are 16 bits past 256 classes), its contents in shared memory.
    const toShared = <T extends LabelArray>(a: T): T => {
      if (a.buffer instanceof SharedArrayBuffer) return a
      const shared = new (a.constructor as new (buffer: SharedArrayBuffer) => T)(new SharedArrayBuffer(a.byteLength))
      shared.set(a)
      return shared
    }
    const shared: DatasetSplit = {images: toShared(split.images), labels: toShared(split.labels), count: split.count}
    for (let w = 0; w < this.size; w++) this.post(w, {type: 'split', id, split: shared})
    this.splitIds.set(split.images, id)
    return id
  }

  private sendPipeline(pipe: Pipeline): number {
    const key = JSON.stringify(pipe.specs)
    let id = this.pipelineIds.get(key)
    if (id !== undefined) return id
    id = this.nextId++
    for (let w = 0; w < this.size; w++) this.post(w, {type: 'pipeline', id, specs: pipe.specs})
    this.pipelineIds.set(key, id)
    return id
  }

  private request(worker: number, message: Omit<Extract<ToWorker, {type: 'batch'}>, 'request'>): Promise<Batch> {
    if (this.closed) return Promise.reject(new DataWorkerError('the data workers were closed'))
    if (this.failure) return Promise.reject(this.failure)
    const request = this.nextId++
    return new Promise<Batch>((resolve, reject) => {
      // While any batch is awaited the process stays open, whatever the worker's handle does (see endWorker).
      this.awaited ??= setInterval(() => undefined, 60_000)
      this.pending.set(request, {resolve, reject, worker})
      if (this.inFlight[worker]++ === 0) this.workers[worker].ref()
      const transfer = [message.ids.buffer as ArrayBuffer, ...(message.draws ? [message.draws.tape.buffer as ArrayBuffer, message.draws.starts.buffer as ArrayBuffer] : [])]
      this.post(worker, {...message, request}, transfer)
    })
  }

  /**
   * One epoch of `split` in batches, as `batches(split, opts)` yields them, made by the workers
   * `prefetch` batches ahead. Taking a batch asks for the next; leaving the loop early (`return`)
   * drops what was asked for and not taken.
   */
  async *epoch(split: Split, opts: EpochBatchOptions): AsyncGenerator<Batch, void, undefined> {
    const {batchSize, imageSize, seed, epoch} = opts
    checkBatching(split, batchSize, imageSize)
    const pipe = batchPipeline(split, opts.augment)
    const why = stayOnTrainingThread(pipe)
    if (why) throw new RangeError(`these batches cannot be made by data workers: ${why}`)
    const total = Math.min(numBatches(split.count, batchSize), opts.limit ?? Infinity)
    const order = epochOrder(split.count, opts.shuffle, seed, epoch)
    const recorder = pipe ? new DrawRecorder(augmentRng(seed, epoch)) : undefined
    const splitId = this.share(split)
    const pipelineId = pipe ? this.sendPipeline(pipe) : null
    const asked: Promise<Batch>[] = []
    let next = 0
    const ask = () => {
      const b = next++
      const start = b * batchSize
      const ids = order.slice(start, Math.min(start + batchSize, split.count))
      const draws = pipe && recorder ? recordDraws(pipe.steps, ids.length, imageSize, recorder) : null
      const made = this.request(b % this.size, {type: 'batch', split: splitId, pipeline: pipelineId, imageSize, ids, draws}).catch((error: Error) => {
        throw new DataWorkerError(`batch ${b + 1} of epoch ${epoch} of ${opts.what} could not be made: ${error.message}`, {cause: error})
      })
      made.catch(() => undefined) // rejections are seen when the batch is taken, or dropped with it
      asked.push(made)
    }
    try {
      for (let b = 0; b < total; b++) {
        while (next < total && next < b + this.prefetch) ask()
        yield await asked.shift()!
      }
    } finally {
      asked.length = 0
    }
  }

  /**
   * Start making the first `prefetch` batches of the epoch `opts` describes now, before it is asked
   * for (while the epoch before it is evaluated): `take` with the same split and options then
   * continues from them; any other request drops them. The batches are the same either way (an
   * epoch's order and draws depend on the seed and the epoch only).
   */
  ahead(split: Split, opts: EpochBatchOptions): void {
    if (this.closed) return
    if (this.early) void dropEpoch(this.early)
    const batches = this.epoch(split, opts)
    const first = batches.next()
    first.catch(() => undefined) // seen when the epoch is taken, or dropped with it
    this.early = {split, opts, batches, first}
  }

  /**
   * The epoch of `split` and `opts`: the one started `ahead` when it is that one, else a new one (an
   * epoch of another split — the evaluation between two training epochs — leaves the early one be;
   * another epoch of its split drops it).
   */
  take(split: Split, opts: EpochBatchOptions): AsyncGenerator<Batch, void, undefined> {
    const early = this.early
    if (early?.split === split) {
      this.early = undefined
      if (sameEpoch(early.opts, opts)) {
        return (async function* () {
          const first = await early.first
          if (first.done) return
          yield first.value
          yield* early.batches
        })()
      }
      void dropEpoch(early)
    }
    return this.epoch(split, opts)
  }

  /** Ends the workers (idempotent); batches still asked for are dropped. */
  async close(): Promise<void> {
    if (this.closed) return
    this.early = undefined
    this.closed = true
    for (const [request, p] of [...this.pending]) {
      this.settled(request, p)
      p.reject(new DataWorkerError('the data workers were closed'))
    }
    await Promise.all(this.workers.map((w) => endWorker(w)))
  }
}

/** How long `endWorker` waits for a worker's exit before it stops holding the process open. */
const END_WAIT_MS = 30_000

/**
 * Ends `worker` and waits for its exit, holding the process open meanwhile: an idle worker is
 * unref'd, and a test suite saw the wait for `terminate()` left without anything keeping the event
 * loop alive (the process then ended with the wait unresolved) — so a timer holds it, for at most
 * END_WAIT_MS.
 */
export async function endWorker(worker: Worker): Promise<void> {
  worker.ref()
  let hold: NodeJS.Timeout | undefined
  const held = new Promise<void>((resolve) => {
    hold = setTimeout(resolve, END_WAIT_MS)
  })
  try {
    await Promise.race([worker.terminate(), held])
  } finally {
    clearTimeout(hold)
  }
}

/** Stop an epoch started ahead and not taken: what it asked for is dropped. */
async function dropEpoch(early: {batches: AsyncGenerator<Batch, void, undefined>; first: Promise<IteratorResult<Batch, void>>}): Promise<void> {
  await early.first.catch(() => undefined)
  await early.batches.return()
}

/** Whether two requests ask for the same batches (the same augmentation pipeline object, too). */
function sameEpoch(a: EpochBatchOptions, b: EpochBatchOptions): boolean {
  return a.batchSize === b.batchSize && a.imageSize === b.imageSize && a.shuffle === b.shuffle && a.seed === b.seed && a.epoch === b.epoch && a.augment === b.augment && (a.limit ?? Infinity) === (b.limit ?? Infinity)
}

/**
 * The training batches of one epoch: made by `workers` when given and the pipeline allows it,
 * else by `batches()` on this thread. The same batches either way.
 */
export function epochBatches(split: Split, opts: EpochBatchOptions, workers?: BatchWorkers): AsyncIterator<Batch> {
  // (`epochBatchesAhead` below starts an epoch early; `take` continues it.)
  const makers = workersFor(split, opts, workers)
  if (makers) return makers.take(split, opts)
  return (async function* () {
    let b = 0
    for (const batch of batches(split, opts)) {
      if (b++ >= (opts.limit ?? Infinity)) return
      yield batch
    }
  })()
}

/** Start the epoch `opts` describes on `workers` now (`BatchWorkers.ahead`), where they would make its batches; else nothing. */
export function epochBatchesAhead(split: Split, opts: EpochBatchOptions, workers?: BatchWorkers): void {
  workersFor(split, opts, workers)?.ahead(split, opts)
}

/** `workers`, where they can make the batches `opts` describes (none of their transforms stays on the training thread). */
function workersFor(split: Split, opts: EpochBatchOptions, workers?: BatchWorkers): BatchWorkers | undefined {
  return workers && !stayOnTrainingThread(batchPipeline(split, opts.augment)) ? workers : undefined
}
