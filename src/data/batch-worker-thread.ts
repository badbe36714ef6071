/**
 * The code each data worker thread runs (batch-workers.ts starts them): it keeps the splits it
 * was shared (their pixels in shared memory, not copied) and the transform pipelines it was sent,
 * and makes each batch it is asked for — the examples named, through the pipeline, drawing the
 * numbers the training thread recorded for them — into new arrays that it transfers back.
 */
import {parentPort} from 'node:worker_threads'
import type {DatasetSplit} from '../registry/registry.js'
import './geometric-transforms.js'
import './transforms.js'
import './auto-augment.js'
import './timm-rand-augment.js'
import {fillBatch} from './batches.js'
import {DrawReplay, type BatchDraws} from './draw-tape.js'
import {rebuildPipeline, type Pipeline, type TransformSpec} from './pipeline.js'

/** What the training thread sends. */
export type ToWorker =
  | {type: 'split'; id: number; split: DatasetSplit}
  | {type: 'pipeline'; id: number; specs: TransformSpec[]}
  | {type: 'batch'; request: number; split: number; pipeline: number | null; imageSize: number; ids: Int32Array; draws: BatchDraws | null}

/** What a worker answers to a batch: the batch, or why it could not be made. */
export type FromWorker = {type: 'batch'; request: number; x: Float32Array; y: Int32Array} | {type: 'error'; request: number; message: string}

const port = parentPort
if (!port) throw new Error('batch-worker-thread.js runs as a worker thread (engine.data_workers); it is not a program of its own')

const splits = new Map<number, DatasetSplit>()
const pipelines = new Map<number, Pipeline | Error>()

function makeBatch(m: Extract<ToWorker, {type: 'batch'}>): Extract<FromWorker, {type: 'batch'}> {
  const split = splits.get(m.split)
  if (!split) throw new Error(`split ${m.split} was never shared with this worker`)
  const pipe = m.pipeline === null ? undefined : pipelines.get(m.pipeline)
  if (pipe instanceof Error) throw pipe
  if (m.pipeline !== null && !pipe) throw new Error(`pipeline ${m.pipeline} was never sent to this worker`)
  const count = m.ids.length
  const x = new Float32Array(count * m.imageSize * m.imageSize * 3)
  const y = new Int32Array(count)
  fillBatch(split, m.ids, m.imageSize, pipe, pipe && m.draws ? new DrawReplay(m.draws) : undefined, x, y)
  return {type: 'batch', request: m.request, x, y}
}

port.on('message', (m: ToWorker) => {
  if (m.type === 'split') {
    splits.set(m.id, m.split)
  } else if (m.type === 'pipeline') {
    try {
      pipelines.set(m.id, rebuildPipeline(m.specs))
    } catch (error) {
      pipelines.set(m.id, error as Error)
    }
  } else {
    let reply: Extract<FromWorker, {type: 'batch'}>
    try {
      reply = makeBatch(m)
    } catch (error) {
      port.postMessage({type: 'error', request: m.request, message: (error as Error).message} satisfies FromWorker)
      return
    }
    port.postMessage(reply, [reply.x.buffer, reply.y.buffer])
  }
})
