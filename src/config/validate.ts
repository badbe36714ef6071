/**
 * Two-stage validation with ajv. Stage 1 checks the spec against `specSchema` (and fills its
 * defaults); stage 2 resolves the model and every block part through the registry, applies presets,
 * and checks their parameters against each plugin's own schema (filling its defaults). Problems are
 * collected, not thrown one by one, and each names file:line:col and the dotted path.
 */
import {Ajv, type ErrorObject, type ValidateFunction} from 'ajv'
import {DATASETS} from '../data/catalog.js'
import {lookup, names, RegistryError, resolvePreset, type EntryKind, type JsonSchema} from '../registry/registry.js'
import {type Problem, SpecError, suggest} from './errors.js'
import {displayPath, isObject, joinPath, originOf, type Json, type JsonObject, type LoadedSpec, type Origins} from './load.js'
import {MODEL_META_KEYS, specSchema} from './schema.js'

const ajv = new Ajv({allErrors: true, useDefaults: true, strict: false})
const compiled = new WeakMap<object, ValidateFunction>()

function validator(schema: JsonSchema): ValidateFunction {
  let v = compiled.get(schema)
  if (!v) {
    v = ajv.compile(schema)
    compiled.set(schema, v)
  }
  return v
}

/** The schema node that `instancePath` (relative to `schema`) points at, for listing allowed keys. */
function schemaAt(schema: JsonSchema, segments: string[]): JsonSchema | undefined {
  let node: JsonSchema | undefined = schema
  for (const seg of segments) {
    if (!node) return undefined
    const props = node.properties as Record<string, JsonSchema> | undefined
    if (props && seg in props) node = props[seg]
    else if (node.items && /^\d+$/.test(seg)) node = node.items as JsonSchema
    else return undefined
  }
  return node
}

function dotted(base: string, instancePath: string): string {
  return instancePath
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((p, s) => joinPath(p, /^\d+$/.test(s) ? Number(s) : s), base)
}

function describe(value: unknown): string {
  return JSON.stringify(value) ?? String(value)
}

function ajvProblems(errors: ErrorObject[], schema: JsonSchema, data: unknown, base: string, origins: Origins): Problem[] {
  const problems: Problem[] = []
  const seen = new Set<string>()
  // Errors under a oneOf are noise when the oneOf itself is reported.
  const oneOfPaths = new Set(errors.filter((e) => e.keyword === 'oneOf').map((e) => e.instancePath))
  for (const e of errors) {
    if (e.keyword !== 'oneOf' && [...oneOfPaths].some((p) => e.instancePath === p || e.instancePath.startsWith(`${p}/`))) continue
    const segments = e.instancePath.split('/').slice(1)
    let path = dotted(base, e.instancePath)
    const value = segments.reduce<unknown>((v, s) => (v as Record<string, unknown>)?.[s], data)
    let message: string
    switch (e.keyword) {
      case 'additionalProperties': {
        const key = (e.params as {additionalProperty: string}).additionalProperty
        path = joinPath(path, key)
        const allowed = Object.keys((schemaAt(schema, segments)?.properties as object) ?? {})
        const guess = suggest(key, allowed)
        message = guess ? `unknown key, did you mean ${guess}?` : `unknown key; allowed keys here: ${allowed.join(', ') || '(none)'}`
        break
      }
      case 'required':
        path = joinPath(path, (e.params as {missingProperty: string}).missingProperty)
        message = 'required key is missing'
        break
      case 'type':
        message = `must be ${(e.params as {type: string}).type.replace(',', ' or ')} (got ${describe(value)})`
        break
      case 'enum': {
        const allowed = (e.params as {allowedValues: unknown[]}).allowedValues
        const guess = typeof value === 'string' ? suggest(value, allowed.map(String)) : undefined
        message = `must be one of ${allowed.map(describe).join(', ')} (got ${describe(value)})${guess ? `; did you mean ${guess}?` : ''}`
        break
      }
      case 'minimum':
      case 'maximum':
      case 'exclusiveMinimum':
      case 'exclusiveMaximum':
        message = `must be ${(e.params as {comparison: string}).comparison} ${(e.params as {limit: number}).limit} (got ${describe(value)})`
        break
      case 'oneOf':
        message = `is ${describe(value)}, which matches none of the allowed forms (${(schemaAt(schema, segments)?.description as string) ?? 'see mixture schema'})`
        break
      case 'const':
        message = `must be ${describe((e.params as {allowedValue: unknown}).allowedValue)}`
        break
      default:
        message = `${e.message ?? 'is invalid'} (got ${describe(value)})`
    }
    const key = `${path}|${message}`
    if (seen.has(key)) continue
    seen.add(key)
    problems.push({origin: originOf(origins, path), path, message})
  }
  return problems
}

/** A resolved block part or model: `type`, the preset that was applied (if any), then every parameter. */
export type ResolvedPart = {type: string; preset?: string} & Record<string, unknown>

export interface ResolvedSpec {
  name: string
  label?: string
  description?: string
  plugins: string[]
  seed: number
  data: {dataset: string; image_size: number} & Record<string, unknown>
  model: ResolvedPart & {init: 'torch' | 'tfjs'; num_classes: number | null}
  train: {
    epochs: number
    batch_size: number
    eval_batch_size?: number
    steps_per_epoch?: number
    optimizer: {type: 'adam'; lr: number; weight_decay: number; betas: [number, number]; eps: number}
    loss: 'cross_entropy'
    metrics_every: number
    checkpoint_every: number
    accuracy: 'per_example' | 'batch_mean'
  }
  engine: {backend: string; threads: number | null}
  output: {dir: string}
}

const KIND_WORD: Record<EntryKind, string> = {model: 'model', component: 'component', adapter: 'adapter', norm: 'norm', head: 'head', block: 'block'}

/** Resolve one `{type, preset?, ...params}` against the registry; returns the flat part with defaults filled. */
function resolvePart(kind: EntryKind, raw: Json, path: string, origins: Origins, problems: Problem[], metaKeys: readonly string[] = ['type', 'preset']): ResolvedPart | undefined {
  if (!isObject(raw) || typeof raw.type !== 'string') {
    problems.push({origin: originOf(origins, path), path, message: `must be a mapping with a "type" (a registered ${KIND_WORD[kind]}: ${names(kind).join(', ')})`})
    return undefined
  }
  const entry = lookup(kind, raw.type)
  if (!entry) {
    const guess = suggest(raw.type, names(kind))
    problems.push({origin: originOf(origins, joinPath(path, 'type')), path: joinPath(path, 'type'), message: `unknown ${KIND_WORD[kind]} "${raw.type}"${guess ? `, did you mean ${guess}?` : ''}; registered: ${names(kind).join(', ')} (a plugin file listed under plugins: can add more)`})
    return undefined
  }
  const meta: Record<string, Json> = {}
  const params: JsonObject = {}
  for (const [k, v] of Object.entries(raw)) (metaKeys.includes(k) ? meta : params)[k] = v
  let preset: Record<string, unknown> = {}
  if (typeof meta.preset === 'string') {
    try {
      preset = resolvePreset(entry, meta.preset)
    } catch (error) {
      problems.push({origin: originOf(origins, joinPath(path, 'preset')), path: joinPath(path, 'preset'), message: (error as RegistryError).message})
      return undefined
    }
  }
  const merged = {...structuredClone(preset), ...params} as JsonObject
  const validate = validator(entry.schema)
  if (!validate(merged)) {
    problems.push(...ajvProblems(validate.errors ?? [], entry.schema, merged, path, origins))
    return undefined
  }
  return {...meta, ...merged} as ResolvedPart
}

/** Stage 1 + stage 2. Throws a SpecError listing every problem found. */
export function validateSpec(loaded: LoadedSpec): ResolvedSpec {
  const spec = structuredClone(loaded.spec)
  const {origins} = loaded
  const problems: Problem[] = []
  const validate = validator(specSchema)
  if (!validate(spec)) problems.push(...ajvProblems(validate.errors ?? [], specSchema, spec, '', origins))

  const data = spec.data
  if (isObject(data) && typeof data.dataset === 'string' && !(data.dataset in DATASETS)) {
    const guess = suggest(data.dataset, Object.keys(DATASETS))
    problems.push({origin: originOf(origins, 'data.dataset'), path: 'data.dataset', message: `unknown dataset "${data.dataset}"${guess ? `, did you mean ${guess}?` : ''}; available: ${Object.keys(DATASETS).join(', ')}`})
  }

  const model = spec.model
  if (isObject(model) && typeof model.type === 'string') {
    const resolved = resolvePart('model', model, 'model', origins, problems, MODEL_META_KEYS)
    if (resolved && resolved.type === 'mixture') {
      const parts = resolved as Record<string, unknown>
      const block = lookup('block', String(parts.block))
      if (!block) {
        const guess = suggest(String(parts.block), names('block'))
        problems.push({origin: originOf(origins, 'model.block'), path: 'model.block', message: `unknown block "${parts.block}"${guess ? `, did you mean ${guess}?` : ''}; registered: ${names('block').join(', ')}`})
      }
      parts.components = (parts.components as Json[]).map((c, i) => resolvePart('component', c, `model.components[${i}]`, origins, problems) ?? c)
      parts.adapter = resolvePart('adapter', parts.adapter as Json, 'model.adapter', origins, problems) ?? parts.adapter
      parts.norm = resolvePart('norm', parts.norm as Json, 'model.norm', origins, problems) ?? parts.norm
      parts.head = resolvePart('head', parts.head as Json, 'model.head', origins, problems) ?? parts.head
    }
    if (resolved) spec.model = resolved as JsonObject
  }
  if (problems.length > 0) throw new SpecError(problems, displayPath(loaded.file))
  return spec as unknown as ResolvedSpec
}
