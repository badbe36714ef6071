/**
 * `mixture predict`: a run's checkpoint on image files — each image brought to the run's input as
 * its evaluation batches are (inputs.ts), the model's logits in evaluation mode, softmax
 * probabilities, and the `top_k` classes by name (the dataset's registry entry names them).
 */
import {stringify} from 'csv-stringify/sync'
import type {ResizeMode} from '../data/image-size.js'
import {tf} from '../engine/tf.js'
import {softmaxRow, topIndices} from '../evaluate/tally.js'
import {openRun, weightsPhrase, type CheckpointChoice, type WeightChoice} from '../run/load-run.js'
import {describeResize, expandInputs, inputBatches, loadInputs, type SkippedInput} from './inputs.js'

export interface PredictOptions {
  run: string
  /** Image files and folders. */
  inputs: string[]
  ckpt?: CheckpointChoice
  /** With train.ema: the average (default) or the trained weights. */
  weights?: WeightChoice
  topK?: number
  backend?: string
  /** Leave out images that cannot be read (each said in the log and listed in the result) instead of stopping. */
  skipBad?: boolean
  log?: (message: string) => void
}

export interface Prediction {
  file: string
  top: {rank: number; index: number; class: string; probability: number}[]
  /** Every output of the model (the softmax's input), in output order. */
  logits: number[]
}

export interface PredictResult {
  run_dir: string
  checkpoint: CheckpointChoice
  /** The weights used: the moving average (a run with train.ema) or the trained ones. */
  weights: WeightChoice
  epoch: number
  backend: string
  /** How images were brought to the input: centre square, then `resize` to image_size × image_size, then `transforms`. */
  input: {image_size: number; resize: ResizeMode; transforms: string[]}
  /** The name of every output. */
  outputs: string[]
  predictions: Prediction[]
  /** Images left out (`--skip-bad`), with why. */
  skipped: SkippedInput[]
}

export async function predictImages(opts: PredictOptions): Promise<PredictResult> {
  const topK = opts.topK ?? 5
  const files = expandInputs(opts.inputs)
  const run = await openRun(opts.run, {ckpt: opts.ckpt, weights: opts.weights, backend: opts.backend, log: opts.log})
  try {
    const {spec, built} = run
    opts.log?.(`${spec.name}: ${run.checkpoint.name}.ckpt (after epoch ${run.checkpoint.meta.epoch}${weightsPhrase(run)}), backend ${run.backend.name}`)
    const {split, files: read, skipped} = await loadInputs(files, spec, opts.skipBad)
    for (const {reason} of skipped) opts.log?.(`skipped: ${reason}`)
    const outputs = run.outputNames.length
    const predictions: Prediction[] = []
    for (const batch of inputBatches(split, spec, spec.train.eval_batch_size ?? spec.train.batch_size)) {
      const size = spec.data.image_size
      const logits = tf.tidy(() => built.model.apply(tf.tensor4d(batch.x, [batch.size, size, size, 3]), {training: false}) as tf.Tensor2D)
      const values = await logits.data()
      logits.dispose()
      for (let i = 0; i < batch.size; i++) {
        const row = Array.from(values.subarray(i * outputs, (i + 1) * outputs))
        const probs = softmaxRow(row)
        const top = topIndices(row, topK).map((index, r) => ({rank: r + 1, index, class: run.outputNames[index], probability: probs[index]}))
        predictions.push({file: read[predictions.length], top, logits: row})
      }
    }
    return {
      run_dir: run.runDir,
      checkpoint: run.checkpoint.name,
      weights: run.weights,
      epoch: run.checkpoint.meta.epoch,
      backend: run.backend.name,
      input: {image_size: spec.data.image_size, resize: describeResize(spec), transforms: split.evalTransforms?.names ?? []},
      outputs: run.outputNames,
      predictions,
      skipped,
    }
  } finally {
    run.dispose()
  }
}

/** One CSV line per image and rank: file,rank,index,class,probability. */
export function predictionsCsv(result: PredictResult): string {
  return stringify([['file', 'rank', 'index', 'class', 'probability'], ...result.predictions.flatMap((p) => p.top.map((t) => [p.file, t.rank, t.index, t.class, t.probability]))])
}
