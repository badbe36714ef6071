/**
 * Spec → tfjs functional model, plus the per-component table of trainable parameters.
 * "Parameters" are trainable weights only (BatchNorm moving statistics are not counted; tfjs's
 * `countParams()` would count them).
 */
import {tfl, type LayersModel, type SymbolicTensor} from '../engine/tf.js'
import {datasetEntry, datasetOptions} from '../data/load.js'
import {UsageError} from '../errors.js'
import {BuildContext} from '../registry/context.js'
import {lookup, RegistryError} from '../registry/registry.js'
import type {DataOptions, ResolvedSpec} from '../schema/spec.js'
import {MODEL_META_KEYS} from '../schema/spec.js'

export interface ComponentCount {
  /** Dotted owner, e.g. `block1.vit`, `block1.vit_adapter`, `norm`, `head`. */
  component: string
  params: number
}

export interface BuiltModel {
  model: LayersModel
  /** Total trainable parameters. */
  params: number
  components: ComponentCount[]
  numClasses: number
  /** NHWC input shape without the batch axis. */
  inputShape: [number, number, number]
  /** Layer names in the order the builders created them (the order of the original modules). */
  layerOrder: string[]
}

/** The model's outputs: `model.num_classes`, else the dataset's class count (read without loading images). */
export function numClassesOf(spec: {data: DataOptions; model: Pick<ResolvedSpec['model'], 'num_classes'>}): number {
  if (spec.model.num_classes) return spec.model.num_classes
  const entry = datasetEntry(spec.data.dataset)
  return entry.classNames(datasetOptions(entry, spec.data)).length
}

export function trainableCount(weights: {shape: number[]}[]): number {
  return weights.reduce((sum, w) => sum + w.shape.reduce((a, b) => a * b, 1), 0)
}

/** Group a layer's owner path into the component it belongs to. */
function componentKey(path: string): string {
  const segments = path.split('.')
  return /^block\d+$/.test(segments[0]) && segments.length > 1 ? `${segments[0]}.${segments[1]}` : segments[0]
}

/**
 * A spec whose parameters each pass their schema but do not fit together (a transformer width that
 * makes no image of the block's size, a patch that does not tile the image): what the builder said,
 * exit code 2. `mixture validate` and a sweep's planning build the model to find it before a run.
 */
export class ModelBuildError extends UsageError {
  /** The spec key the builder that complained was building (`model.components[1]`), where it is known. */
  specPath?: string
}

/** A builder's (or tfjs's) complaint as a ModelBuildError; the project's own usage errors pass as they are. */
function asBuildError(error: unknown, model: string): unknown {
  if (!(error instanceof Error) || error instanceof UsageError || error instanceof RegistryError) return error
  // A single weight past what a typed array or the heap holds fails before any size check can count it.
  // tfjs walks the layer graph recursively: a graph too deep overflows the stack, which says nothing of why.
  const why =
    error instanceof RangeError && /typed array length|allocation failed/i.test(error.message)
      ? `a weight too large to allocate (${error.message}); make the model smaller`
      : error instanceof RangeError && /call stack size/i.test(error.message)
        ? 'its layer graph is too deep for TensorFlow.js to build (the graph walk overflowed the stack); use fewer blocks (model.num_blocks) or shallower components'
        : error.message
  const built = new ModelBuildError(`model ${model} cannot be built from this spec: ${why}`)
  built.stack = error.stack
  built.specPath = (error as {specPath?: string}).specPath
  return built
}

export function buildModel(spec: Pick<ResolvedSpec, 'data' | 'model' | 'seed'>): BuiltModel {
  const entry = lookup('model', spec.model.type)
  if (!entry) throw new RegistryError(`unknown model "${spec.model.type}"`)
  const numClasses = numClassesOf(spec)
  const size = spec.data.image_size
  const ctx = BuildContext.root({seed: spec.seed, init: spec.model.init ?? 'torch'})
  const input = tfl.input({shape: [size, size, 3], name: 'image'})
  const params: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(spec.model)) if (!(MODEL_META_KEYS as readonly string[]).includes(k)) params[k] = v
  let output: SymbolicTensor
  let model: LayersModel
  try {
    output = entry.create(ctx, input, params, numClasses) as SymbolicTensor
    model = tfl.model({inputs: input, outputs: output, name: spec.model.type})
  } catch (error) {
    throw asBuildError(error, spec.model.type)
  }
  const outShape = output.shape
  // More outputs than classes is allowed (the paper's ResNet-18 keeps its 1000-way head); fewer is not.
  if (outShape.length !== 2 || (outShape[1] as number) < numClasses) {
    model.dispose()
    throw new RegistryError(`model "${entry.name}" returns shape [${outShape.join(', ')}], but ${numClasses} classes need [batch, ≥${numClasses}] logits`)
  }
  const owners = ctx.owners()
  const counts = new Map<string, number>()
  for (const layer of model.layers) {
    const n = trainableCount(layer.trainableWeights.map((w) => ({shape: w.shape as number[]})))
    if (layer.name === 'image') continue
    const key = componentKey(owners.get(layer.name) ?? layer.name)
    counts.set(key, (counts.get(key) ?? 0) + n)
  }
  // Creation order (the order the spec lists things), dropping weightless glue such as a joint block's sum.
  const order = [...new Set([...owners.values()].map(componentKey))]
  const components = [...counts]
    .filter(([key, p]) => p > 0 || !/^block\d+$/.test(key))
    .sort(([a], [b]) => order.indexOf(a) - order.indexOf(b))
    .map(([component, p]) => ({component, params: p}))
  return {model, params: trainableCount(model.trainableWeights.map((w) => ({shape: w.shape as number[]}))), components, numClasses, inputShape: [size, size, 3], layerOrder: [...owners.keys()]}
}

/**
 * Build the spec's model and let it go, so that parameters that do not fit together are found
 * before anything runs (a ModelBuildError). Returns the trainable parameter count.
 */
export function checkModelBuilds(spec: Pick<ResolvedSpec, 'data' | 'model' | 'seed'>): number {
  const built = buildModel(spec)
  built.model.dispose()
  return built.params
}
