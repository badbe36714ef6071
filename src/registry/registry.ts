/**
 * The plugin registry: every architecture piece, block combinator, model, head and dataset the CLI
 * can name is an entry here. Built-in plugins (plugins/*.ts) and third-party plugin files listed
 * in a spec register through the same public API (`src/api.ts`).
 */
import type {SymbolicTensor} from '../engine/tf.js'
import type {BuildContext} from './context.js'

export type JsonSchema = Record<string, unknown>

/** What flows between components inside a block. */
export type Flow = 'image' | 'tokens'

interface EntryBase<P> {
  /** Registry name used in specs (`type: vit`). */
  name: string
  /** One line for `mixture list`. */
  summary: string
  /** Where the architecture comes from (arXiv id or URL). */
  paper?: string
  /** JSON Schema for the params: an object schema with defaults and `additionalProperties: false`. */
  schema: JsonSchema
  /** Named parameter sets (`preset: paper_joint`). */
  presets?: Record<string, Partial<P>>
  /** Smallest useful params, used by the contract test that walks the registry. */
  tiny?: Partial<P>
  /** Where the entry came from (filled by the registry: `builtin` or the plugin file). */
  source?: string
}

/** A piece of a block: takes an image (NHWC, 3 channels) and returns an image or tokens. */
export interface ComponentDef<P = Record<string, unknown>> extends EntryBase<P> {
  kind: 'component'
  /** What `create` returns. Tokens are turned into an image by the block's adapter. */
  output: Flow | ((params: P) => Flow)
  create(ctx: BuildContext, input: SymbolicTensor, params: P): SymbolicTensor
}

/** Turns tokens (B, N, D) back into an image (B, H, W, 3). */
export interface AdapterDef<P = Record<string, unknown>> extends EntryBase<P> {
  kind: 'adapter'
  create(ctx: BuildContext, tokens: SymbolicTensor, params: P, image: {height: number; width: number}): SymbolicTensor
}

/** Normalises a branch output before a joint block adds them. `shared` instances are reused. */
export interface NormDef<P = Record<string, unknown>> extends EntryBase<P> {
  kind: 'norm'
  create(ctx: BuildContext, image: SymbolicTensor, params: P): SymbolicTensor
}

/** Maps the last block's image to class logits. */
export interface HeadDef<P = Record<string, unknown>> extends EntryBase<P> {
  kind: 'head'
  create(ctx: BuildContext, image: SymbolicTensor, params: P, numClasses: number): SymbolicTensor
}

/** Combines the components of one block. */
export interface BlockDef<P = Record<string, unknown>> extends EntryBase<P> {
  kind: 'block'
  create(ctx: BuildContext, input: SymbolicTensor, params: P, parts: BlockParts): SymbolicTensor
}

/** What a block gets to build its components, adapter and norm (already validated). */
export interface BlockParts {
  components: ({type: string} & Record<string, unknown>)[]
  /** Build component `i` on `input`, converting tokens to an image with the block's adapter. */
  component(i: number, input: SymbolicTensor): SymbolicTensor
  /** Apply the configured normalisation (identity for `none`). */
  norm(image: SymbolicTensor, branch: number): SymbolicTensor
}

/** A whole classifier (the `mixture` model and the baselines). */
export interface ModelDef<P = Record<string, unknown>> extends EntryBase<P> {
  kind: 'model'
  create(ctx: BuildContext, input: SymbolicTensor, params: P, numClasses: number): SymbolicTensor
}

export type AnyEntry = ComponentDef<any> | AdapterDef<any> | NormDef<any> | HeadDef<any> | BlockDef<any> | ModelDef<any>
export type EntryKind = AnyEntry['kind']
export const KINDS: EntryKind[] = ['model', 'block', 'component', 'adapter', 'norm', 'head']

const entries = new Map<string, AnyEntry>()
let currentSource = 'builtin'

function key(kind: EntryKind, name: string): string {
  return `${kind}:${name}`
}

export class RegistryError extends Error {}

function register(entry: AnyEntry): void {
  if (!/^[a-z][a-z0-9_]*$/.test(entry.name)) {
    throw new RegistryError(`cannot register ${entry.kind} "${entry.name}": names are lower-case snake_case (letters, digits, _)`)
  }
  const schema = entry.schema as {type?: string; additionalProperties?: unknown}
  if (schema?.type !== 'object') throw new RegistryError(`cannot register ${entry.kind} "${entry.name}": its schema must be an object schema`)
  const existing = entries.get(key(entry.kind, entry.name))
  if (existing && existing.source !== currentSource) {
    throw new RegistryError(`cannot register ${entry.kind} "${entry.name}" from ${currentSource}: it is already registered by ${existing.source}; choose another name`)
  }
  entries.set(key(entry.kind, entry.name), {...entry, source: currentSource})
}

export function registerComponent<P>(def: Omit<ComponentDef<P>, 'kind'>): void {
  register({...def, kind: 'component'} as ComponentDef<any>)
}
export function registerAdapter<P>(def: Omit<AdapterDef<P>, 'kind'>): void {
  register({...def, kind: 'adapter'} as AdapterDef<any>)
}
export function registerNorm<P>(def: Omit<NormDef<P>, 'kind'>): void {
  register({...def, kind: 'norm'} as NormDef<any>)
}
export function registerHead<P>(def: Omit<HeadDef<P>, 'kind'>): void {
  register({...def, kind: 'head'} as HeadDef<any>)
}
export function registerBlock<P>(def: Omit<BlockDef<P>, 'kind'>): void {
  register({...def, kind: 'block'} as BlockDef<any>)
}
export function registerModel<P>(def: Omit<ModelDef<P>, 'kind'>): void {
  register({...def, kind: 'model'} as ModelDef<any>)
}

export function lookup<K extends EntryKind>(kind: K, name: string): Extract<AnyEntry, {kind: K}> | undefined {
  return entries.get(key(kind, name)) as Extract<AnyEntry, {kind: K}> | undefined
}

export function names(kind: EntryKind): string[] {
  return [...entries.values()].filter((e) => e.kind === kind).map((e) => e.name).sort()
}

export function allEntries(): AnyEntry[] {
  return [...entries.values()].sort((a, b) => KINDS.indexOf(a.kind) - KINDS.indexOf(b.kind) || a.name.localeCompare(b.name))
}

/** Run `fn` with registrations attributed to `source` (a plugin file path). */
export async function withSource<T>(source: string, fn: () => Promise<T>): Promise<T> {
  const previous = currentSource
  currentSource = source
  try {
    return await fn()
  } finally {
    currentSource = previous
  }
}

/** Resolve `preset` + explicit params (explicit wins). Unknown preset names throw with the choices. */
export function resolvePreset<P>(entry: {name: string; presets?: Record<string, Partial<P>>}, preset: string | undefined): Partial<P> {
  if (preset === undefined) return {}
  const found = entry.presets?.[preset]
  if (!found) {
    const choices = Object.keys(entry.presets ?? {})
    throw new RegistryError(`unknown preset "${preset}" for ${entry.name}${choices.length ? `: choose one of ${choices.join(', ')}` : ' (it has no presets)'}`)
  }
  return found
}
