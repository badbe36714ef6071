/**
 * `mixture export`: a run's checkpoint in a format other tools load, written as one folder
 * (write-folder-atomic.ts), by default `<run>/export/<format>-<checkpoint>/`:
 *
 *   tfjs         model.json + group1-shard*.bin: a TensorFlow.js graph model of stock ops (tfjs.ts)
 *   safetensors  model.safetensors: the weights, under PyTorch state_dict names for the paper's
 *                architectures (torch-state.ts), the project's own names otherwise
 *
 * and `export.json` beside them: where it came from and how inputs are made. Docs: docs/export.md.
 * An earlier export in the folder is replaced; nothing else is ever deleted (outputFolder refuses).
 */
import {existsSync, readdirSync, statSync} from 'node:fs'
import {join, relative, resolve} from 'node:path'
import {FileWriteError} from '../fs/write-error.js'
import {writeFolderAtomic} from '../fs/write-folder-atomic.js'
import type {ResolvedSpec} from '../schema/spec.js'
import {pipelinesFromConfig, transformSpecs, type AugmentConfig} from '../data/pipeline.js'
import {resizeMode, type ResizeMode} from '../data/image-size.js'
import {projectVersion} from '../run/env.js'
import {openRun, weightsLabel, type CheckpointChoice, type OpenedRun, type WeightChoice} from '../run/load-run.js'
import {ExportError} from './errors.js'
import {encodeSafetensors} from './safetensors.js'
import {TFJS_FILE, tfjsGraphModel} from './tfjs.js'
import {stateDict} from './torch-state.js'
import {nameList} from '../name-list.js'


/** How `export.json` tells a user to bring an image to the model's input size, per resize mode. */
const RESIZE_RECIPES: Record<ResizeMode, (size: number) => string> = {
  pil_bilinear: (size) => `resize to ${size}×${size} as Pillow's Image.resize(BILINEAR) does (antialiased when downscaling; torchvision's Resize on a PIL image)`,
  bilinear: (size) => `resize to ${size}×${size} (bilinear, half-pixel centres, no antialiasing)`,
  pad: (size) => `zero-pad to ${size}×${size} (centred)`,
}

export const EXPORT_FORMATS = ['tfjs', 'safetensors'] as const
export type ExportFormat = (typeof EXPORT_FORMATS)[number]

/** The file every export folder holds; an existing folder without it is not replaced. */
export const EXPORT_RECORD = 'export.json'

/** The file `--format safetensors` writes. */
const SAFETENSORS_FILE = 'model.safetensors'

/** Whether an export of some format writes a file of this name: what an earlier export's folder may hold. */
function isExportFile(name: string): boolean {
  return name === EXPORT_RECORD || name === SAFETENSORS_FILE || TFJS_FILE.test(name)
}

export interface ExportOptions {
  run: string
  format: ExportFormat
  ckpt?: CheckpointChoice
  /** With train.ema: the average (default) or the trained weights. */
  weights?: WeightChoice
  /** Folder to write (default `<run>/export/<format>-<ckpt>/`, `<format>-last-trained/` for an average's run's trained weights). */
  out?: string
  log?: (message: string) => void
}

/** How an image becomes the model's input, for whoever loads the export. */
export interface InputRecipe {
  /** N × image_size × image_size × 3, float32. */
  layout: 'NHWC'
  image_size: number
  steps: string[]
  /** Per-channel (x − mean) / std after scaling to [0, 1], when the run normalised. */
  normalize: {mean: number[]; std: number[]} | null
}

export interface ExportResult {
  run_dir: string
  checkpoint: CheckpointChoice
  /** The weights written: the moving average (a run with train.ema) or the trained ones. */
  weights: WeightChoice
  epoch: number
  format: ExportFormat
  out_dir: string
  files: string[]
  /** safetensors: whose names the tensors have. */
  names?: 'pytorch' | 'mixture-models'
  /** safetensors with PyTorch names: the class in bench/torch/models.py (or torchvision) and its arguments. */
  torch?: {builder: string; kwargs: Record<string, unknown>}
  /** Why the names are the project's own. */
  reason?: string
  input: InputRecipe
  outputs: string[]
}

function inputRecipe(spec: ResolvedSpec): InputRecipe {
  const size = spec.data.image_size
  const augment = spec.data.augment as AugmentConfig
  const norm = transformSpecs(augment).find((t) => t.type === 'normalize') as {mean: number | number[]; std: number | number[]} | undefined
  const three = (v: number | number[]) => (Array.isArray(v) ? v : [v, v, v])
  const evalSteps = (pipelinesFromConfig(augment).eval || undefined)?.names ?? []
  return {
    layout: 'NHWC',
    image_size: size,
    steps: [
      'decode to RGB (greyscale replicated to 3 channels, alpha dropped)',
      'crop the centred largest square',
      RESIZE_RECIPES[resizeMode(spec.data.dataset, spec.data)](size),
      'scale the uint8 pixels to [0, 1]',
      ...evalSteps.map((n) => (n === 'normalize' ? 'normalize: (x − mean) / std per channel' : `${n} (a plugin transform applied to evaluation batches)`)),
    ],
    normalize: norm ? {mean: three(norm.mean), std: three(norm.std)} : null,
  }
}

/** Up to five of a folder's entries, for a message: folders with a trailing slash, then how many more. */
function someEntries(dir: string, names: string[]): string {
  const shown = names.slice(0, 5).map((name) => (statSync(join(dir, name), {throwIfNoEntry: false})?.isDirectory() ? `${name}/` : name))
  return nameList([...shown, ...names.slice(5)])
}

/**
 * The output folder: `out`, or the default. An existing one must be empty or an earlier export
 * holding nothing but an export's files: writing replaces the whole folder, so a folder with files
 * the export did not write (the user's notes, a folder of their own) is refused, naming them.
 */
function outputFolder(run: OpenedRun, format: ExportFormat, out: string | undefined): string {
  const fallback = join(run.runDir, 'export', `${format}-${weightsLabel(run)}`)
  const dir = out ? resolve(out) : fallback
  const rel = relative(dir, run.runDir)
  if (rel === '' || !rel.startsWith('..')) throw new ExportError(`--out ${dir} is the run folder or a folder above it; give a new folder for the export (default: ${fallback})`)
  if (existsSync(dir)) {
    const named = out ? `--out ${dir}` : `the export folder ${dir}`
    if (!statSync(dir).isDirectory()) throw new ExportError(`${named} is a file; give a folder for the export`)
    const entries = readdirSync(dir).sort()
    if (entries.length > 0 && !entries.includes(EXPORT_RECORD)) throw new ExportError(`${named} holds other files (${someEntries(dir, entries)}) and no ${EXPORT_RECORD}, so it is not an earlier export to replace; give an empty or new folder`)
    const others = entries.filter((name) => !isExportFile(name) || statSync(join(dir, name)).isDirectory())
    if (others.length > 0) {
      throw new ExportError(
        `${named} holds an earlier export and files it did not write (${someEntries(dir, others)}); the export replaces the whole folder, so they would be lost. Move them out of ${dir}, or give another folder with --out`,
      )
    }
  }
  return dir
}

export async function exportRun(opts: ExportOptions): Promise<ExportResult> {
  const log = opts.log ?? (() => undefined)
  if (!(EXPORT_FORMATS as readonly string[]).includes(opts.format)) throw new ExportError(`--format must be one of ${EXPORT_FORMATS.join(', ')}; got "${opts.format}"`)
  // The weights are only read and rearranged: any backend gives the same bytes.
  const run = await openRun(opts.run, {ckpt: opts.ckpt, weights: opts.weights, backend: 'cpu', log})
  try {
    const outDir = outputFolder(run, opts.format, opts.out)
    const base = {run_dir: run.runDir, checkpoint: run.checkpoint.name, weights: run.weights, epoch: run.checkpoint.meta.epoch, format: opts.format, out_dir: outDir, input: inputRecipe(run.spec), outputs: run.outputNames}
    const generatedBy = `mixture-models ${projectVersion()}`
    let files: Record<string, string | Uint8Array>
    let result: ExportResult
    if (opts.format === 'tfjs') {
      const metadata = {mixture_models: {source: base.run_dir, checkpoint: base.checkpoint, weights: base.weights, epoch: base.epoch, model: run.spec.model.type, label: run.spec.label ?? run.spec.name, outputs: base.outputs, input: base.input}}
      files = tfjsGraphModel(run.built.model, metadata, generatedBy)
      result = {...base, files: []}
    } else {
      const dict = stateDict(run.built.model, run.spec, run.checkpoint.meta.step)
      const names = dict.torch ? 'pytorch' : 'mixture-models'
      if (!dict.torch) log(`note: ${run.spec.model.type} has no PyTorch counterpart (${dict.reason}); the tensors keep the project's own names and layouts (see docs/export.md)`)
      const metadata: Record<string, string> = {
        format: 'pt',
        generated_by: generatedBy,
        source: base.run_dir,
        checkpoint: `${base.checkpoint} (epoch ${base.epoch})`,
        weights: base.weights,
        names,
        ...(dict.torch ? {torch_builder: dict.torch.builder, torch_kwargs: JSON.stringify(dict.torch.kwargs)} : {layout: 'channels-last: Dense kernels (in, out), Conv2D kernels (kh, kw, in, out)', reason: dict.reason!}),
        outputs: JSON.stringify(base.outputs),
      }
      files = {[SAFETENSORS_FILE]: Buffer.concat(encodeSafetensors(dict.tensors, metadata))}
      result = {...base, files: [], names, ...(dict.torch ? {torch: dict.torch} : {reason: dict.reason})}
    }
    files[EXPORT_RECORD] = `${JSON.stringify({...result, files: undefined, created: new Date().toISOString(), generated_by: generatedBy}, null, 2)}\n`
    try {
      writeFolderAtomic(outDir, files, {log})
    } catch (error) {
      if (error instanceof FileWriteError) throw error.explained(`${error.message}; nothing was exported (any earlier export in ${outDir} is as it was); give a folder that can be written with --out`)
      throw error
    }
    result.files = Object.keys(files).map((f) => join(outDir, f))
    return result
  } finally {
    run.dispose()
  }
}
